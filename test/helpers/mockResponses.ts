/**
 * Loopback mock of the OpenAI Responses API (`POST /v1/responses`, SSE) for
 * end-to-end tests that drive the real `codex exec` binary.
 *
 * One server serves many concurrent codex processes: the scenario is chosen
 * only from the content of each request (markers in the prompt = text of the
 * LAST user message of `body.input`), never from per-connection state.
 *
 * Markers (may be combined; `slow` and `usage` are modifiers):
 *   (none) / answer      -> message "mock answer: " + first 60 chars of prompt
 *   echo-prompt          -> message "echo-prompt sha256=<hex> bytes=<n>" (UTF-8 of prompt)
 *   [[shell:CMD]]        -> exec_command function_call running CMD; on the follow-up
 *                           (function_call_output after the last user message)
 *                           -> message "shell output: " + output text
 *   [[patch:FILE]]       -> apply_patch custom_tool_call adding FILE with content "x";
 *                           follow-up -> message "patched"
 *   [[fail]] / [[fail:MSG]] -> response.failed with error message MSG (default
 *                           "mock failure requested by [[fail]]"); codex prints `error` +
 *                           `turn.failed` with "stream disconnected before completion: MSG", exit 1
 *   [[slow:MS]]          -> headers + response.created at once, rest after MS ms
 *   [[hang]]             -> headers + response.created, then nothing until the
 *                           client disconnects or close() is called
 *   [[usage:IN,OUT]]     -> usage input_tokens=IN, output_tokens=OUT, cached_tokens=floor(IN/5),
 *                           reasoning_tokens=floor(OUT/2); default usage is DEFAULT_USAGE
 *                           (100/20 in/cached, 10/5 out/reasoning) per request
 *   [[json]]             -> message text `{"ok":true}`
 *   [[recall]]           -> message "recall: " + JSON array of the texts of all
 *                           real user messages in input (environment context skipped)
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenLoopback, marker, mockHandler, pickScenario, readBody, usageMarker, type OtherRequest } from "./mockCommon.ts";

/** The scenario markers this mock serves, first match wins. */
const SCENARIOS = ['fail', 'hang', 'shell', 'patch', 'json', 'recall', 'mcp'];

export interface MockRequest {
  /** Parsed JSON body of a POST /v1/responses request. */
  body: any;
  /** Text of the last user message of body.input. */
  prompt: string;
  /** True when this request carries a tool output after the last user message. */
  followUp: boolean;
  /** Scenario picked for this request (answer, echo-prompt, shell, patch, fail, hang, json, recall). */
  scenario: string;
  headers: Record<string, string | string[] | undefined>;
}


export type { OtherRequest };

export interface MockServer {
  /** Base URL including `/v1`, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  /** Every POST /v1/responses request, in arrival order. */
  requests: MockRequest[];
  /** Every other request (unknown paths, websocket upgrades, ...). */
  otherRequests: OtherRequest[];
  close(): Promise<void>;
}

export const DEFAULT_USAGE = {
  input_tokens: 100,
  cached_tokens: 20,
  output_tokens: 10,
  reasoning_tokens: 5,
} as const;

type Json = Record<string, unknown>;

function textOfContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((c: any) => (c && typeof c.text === "string" ? c.text : ""))
    .join("");
}

function isUserMessage(item: any): boolean {
  return !!item && item.role === "user" && (item.type === "message" || item.type === undefined);
}

/** Text of the last user message in `input`. */
export function promptOf(body: any): string {
  const input: any[] = Array.isArray(body?.input) ? body.input : [];
  for (let i = input.length - 1; i >= 0; i--) {
    if (isUserMessage(input[i])) return textOfContent(input[i].content);
  }
  return "";
}

/** Texts of user messages that are not codex-injected context blocks. */
export function userTexts(body: any): string[] {
  const input: any[] = Array.isArray(body?.input) ? body.input : [];
  return input
    .filter(isUserMessage)
    .map((m) => textOfContent(m.content))
    .filter((t) => !/^\s*<(environment_context|user_instructions|permissions|INSTRUCTIONS)\b/.test(t) && !t.startsWith("# AGENTS.md"));
}

/** Tool outputs that come after the last user message (i.e. this request is a follow-up). */
function toolOutputsAfterLastUser(body: any): any[] {
  return itemsAfterLastUser(body).filter((it) => it && (it.type === "function_call_output" || it.type === "custom_tool_call_output"));
}

function outputText(item: any): string {
  const out = item?.output;
  if (typeof out === "string") return out;
  if (Array.isArray(out)) return textOfContent(out);
  if (out && typeof out === "object") {
    if (typeof out.content === "string") return out.content;
    if (Array.isArray(out.content)) return textOfContent(out.content);
  }
  return JSON.stringify(out ?? "");
}

function toolNames(body: any): Map<string, string> {
  // name -> type ("function" | "custom" | ...)
  const m = new Map<string, string>();
  const tools: any[] = Array.isArray(body?.tools) ? body.tools : [];
  for (const t of tools) {
    const name = t?.name ?? t?.function?.name;
    if (typeof name === "string") m.set(name, String(t.type));
  }
  return m;
}

/** Items after the last user message: what codex sent back in this turn so far. */
function itemsAfterLastUser(body: any): any[] {
  const input: any[] = Array.isArray(body?.input) ? body.input : [];
  let last = -1;
  for (let i = input.length - 1; i >= 0; i--) {
    if (isUserMessage(input[i])) {
      last = i;
      break;
    }
  }
  return input.slice(last + 1);
}

function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, "")}`;
}

/** The model searching codex's tools for ours, as a model handed [[mcp:…]] would. */
function toolSearchCall(): Json {
  return {
    type: "tool_search_call",
    id: newId("ts"),
    call_id: newId("call"),
    execution: "client",
    status: "completed",
    arguments: { query: "start a codex background job", limit: 5 },
  };
}

function messageItem(text: string): Json {
  return {
    type: "message",
    id: newId("msg"),
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  };
}

function shellCallItem(body: any, cmd: string): Json {
  const tools = toolNames(body);
  const call_id = newId("call");
  if (tools.has("exec_command") || tools.size === 0) {
    return { type: "function_call", id: newId("fc"), call_id, name: "exec_command", arguments: JSON.stringify({ cmd }) };
  }
  if (tools.has("shell_command")) {
    return { type: "function_call", id: newId("fc"), call_id, name: "shell_command", arguments: JSON.stringify({ command: cmd }) };
  }
  return {
    type: "function_call",
    id: newId("fc"),
    call_id,
    name: "shell",
    arguments: JSON.stringify({ command: ["bash", "-lc", cmd] }),
  };
}

function patchCallItem(body: any, file: string): Json {
  const patch = `*** Begin Patch\n*** Add File: ${file}\n+x\n*** End Patch\n`;
  const tools = toolNames(body);
  const call_id = newId("call");
  if (tools.get("apply_patch") === "function") {
    return { type: "function_call", id: newId("fc"), call_id, name: "apply_patch", arguments: JSON.stringify({ input: patch }) };
  }
  return { type: "custom_tool_call", id: newId("ctc"), call_id, name: "apply_patch", input: patch, status: "completed" };
}

function usageOf(prompt: string): Json {
  const t = usageMarker(prompt, { input: DEFAULT_USAGE.input_tokens, cached: DEFAULT_USAGE.cached_tokens, output: DEFAULT_USAGE.output_tokens, reasoning: DEFAULT_USAGE.reasoning_tokens });
  return {
    input_tokens: t.input,
    input_tokens_details: { cached_tokens: t.cached },
    output_tokens: t.output,
    output_tokens_details: { reasoning_tokens: t.reasoning },
    total_tokens: t.input + t.output,
  };
}

function sse(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export async function startMockResponses(): Promise<MockServer> {
  const requests: MockRequest[] = [];
  const otherRequests: OtherRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const handleResponses = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: any;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8"));
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `mock: bad request body: ${String(err)}`, type: "invalid_request_error" } }));
      return;
    }
    const prompt = promptOf(body);
    const outputs = toolOutputsAfterLastUser(body);
    const followUp = outputs.length > 0;
    const scenario = pickScenario(prompt, SCENARIOS);
    requests.push({ body, prompt, followUp, scenario, headers: req.headers });

    const responseId = newId("resp");
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.flushHeaders();
    let gone = false;
    res.on("close", () => {
      gone = true;
    });
    res.write(sse("response.created", { response: { id: responseId, status: "in_progress" } }));

    const wait = (ms: number) =>
      new Promise<void>((resolve) => {
        if (ms <= 0) return resolve();
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
        res.on("close", () => {
          clearTimeout(t);
          timers.delete(t);
          resolve();
        });
      });

    if (scenario === "hang") return; // keep open; ends on client disconnect / close()

    const slow = marker(prompt, "slow");
    if (slow !== undefined) {
      await wait(Number.parseInt(slow, 10) || 0);
      if (gone || closed) return;
    }

    const finish = (items: Json[]): void => {
      items.forEach((item, output_index) => {
        res.write(sse("response.output_item.added", { output_index, item }));
        res.write(sse("response.output_item.done", { output_index, item }));
      });
      res.write(
        sse("response.completed", {
          response: { id: responseId, status: "completed", output: items, usage: usageOf(prompt) },
        }),
      );
      res.end();
    };

    switch (scenario) {
      case "fail":
        res.write(
          sse("response.failed", {
            response: {
              id: responseId,
              status: "failed",
              error: { code: "mock_failure", message: marker(prompt, "fail") || "mock failure requested by [[fail]]" },
            },
          }),
        );
        res.end();
        return;
      case "shell": {
        if (followUp) {
          finish([messageItem("shell output: " + outputs.map(outputText).join("\n"))]);
        } else {
          finish([shellCallItem(body, marker(prompt, "shell") ?? "")]);
        }
        return;
      }
      case "patch":
        if (followUp) finish([messageItem("patched")]);
        else finish([patchCallItem(body, marker(prompt, "patch") ?? "f.txt")]);
        return;
      case "json":
        finish([messageItem(JSON.stringify({ ok: true }))]);
        return;
      case "recall":
        finish([messageItem("recall: " + JSON.stringify(userTexts(body)))]);
        return;
      case "echo-prompt": {
        const bytes = Buffer.from(prompt, "utf8");
        const sha = createHash("sha256").update(bytes).digest("hex");
        finish([messageItem(`echo-prompt sha256=${sha} bytes=${bytes.length}`)]);
        return;
      }
      case "mcp": {
        // [[mcp:SERVER|CWD]]: codex as an MCP client. Search its tools (tool_search), call our
        // codex_start in the namespace codex gives the server, then report what came back.
        const [server, cwd] = (marker(prompt, "mcp") ?? "").split("|");
        const after = itemsAfterLastUser(body);
        const searches = after.filter((it) => it?.type === "tool_search_output");
        const searched = searches.at(-1);
        const called = after.find((it) => it?.type === "function_call_output");
        if (called) {
          finish([messageItem("mcp said: " + outputText(called))]);
        } else if (searched && (searched.tools?.length ?? 0) === 0 && searches.length < 10) {
          // Nothing found yet: codex lists an MCP server's tools once the server is up, which on a
          // loaded machine can be after the model first asks. Search again in a while, as a model would.
          await wait(2000);
          if (gone || closed) return;
          finish([toolSearchCall()]);
        } else if (searched) {
          finish([
            {
              type: "function_call",
              id: newId("fc"),
              call_id: newId("call"),
              name: "codex_start",
              namespace: `mcp__${server}`,
              arguments: JSON.stringify({ prompt: "delegated by codex", cwd }),
            },
          ]);
        } else {
          finish([toolSearchCall()]);
        }
        return;
      }
      default:
        finish([messageItem("mock answer: " + prompt.slice(0, 60))]);
    }
  };

  const server = createServer(
    mockHandler(
      (req, res, url) => (req.method === "POST" && url === "/v1/responses" ? handleResponses(req, res) : undefined),
      otherRequests,
      (req, res, url) => {
        if (req.method === "GET" && url === "/v1/models") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ object: "list", data: [], models: [] }));
          return;
        }
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `mock: no route ${req.method} ${req.url}` } }));
      },
    ),
  );

  server.on("upgrade", (req, socket) => {
    otherRequests.push({ method: `UPGRADE ${req.method}`, path: req.url ?? "", headers: req.headers, body: "" });
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  const { port, close } = await listenLoopback(server, () => {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
  });
  return { url: `http://127.0.0.1:${port}/v1`, port, requests, otherRequests, close };
}
