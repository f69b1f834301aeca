/**
 * Loopback mock of the Anthropic Messages API (`POST /v1/messages`, SSE) for
 * end-to-end tests that drive a real agent CLI speaking it: Claude Code
 * (ANTHROPIC_BASE_URL) and GitHub Copilot CLI (COPILOT_PROVIDER_TYPE=anthropic).
 *
 * One server serves many concurrent CLI processes: the scenario is chosen only
 * from the content of each request (markers in the prompt = the text of the
 * LAST real user message of `body.messages`, i.e. the last user message that
 * is not only tool results; system-injected `<system-reminder>` blocks are
 * left out), never from per-connection state.
 *
 * The base URL has no `/v1`: Anthropic clients append `/v1/messages` to it.
 * `/messages` without the prefix is served too, for clients configured with a
 * base URL that already ends in `/v1`.
 *
 * Markers (may be combined; `slow` and `usage` are modifiers):
 *   (none)               -> text "mock answer: " + first 60 chars of prompt
 *   echo-prompt          -> text "echo-prompt sha256=<hex> bytes=<n>" (UTF-8 of prompt)
 *   [[shell:CMD]]        -> tool_use of the client's shell tool running CMD; on the
 *                           follow-up (a tool_result after the last real user message)
 *                           -> text "shell output: " + the tool result's text
 *   [[patch:FILE]]       -> tool_use of the client's file-writing tool creating FILE
 *                           with content "x" (made absolute against the working
 *                           directory the client names in its prompt when it has one);
 *                           follow-up -> text "patched"
 *   [[fail]] / [[fail:MSG]] -> HTTP 400 invalid_request_error with message MSG (default
 *                           "mock failure requested by [[fail]]"): not retried as such
 *                           (Claude Code retries a 400 once per beta-header fallback, a
 *                           handful of requests, then ends with "API Error: 400 MSG")
 *   [[slow:MS]]          -> headers + message_start at once, rest after MS ms
 *   [[hang]]             -> headers + message_start, then nothing until the client
 *                           disconnects or close() is called
 *   [[usage:IN,OUT]]     -> usage input_tokens=IN, output_tokens=OUT,
 *                           cache_read_input_tokens=floor(IN/5); default DEFAULT_USAGE
 *   [[json]]             -> text `{"ok":true}`; when the request offers a `StructuredOutput`
 *                           tool (Claude Code's --json-schema), a call of it with {"ok":true} first
 *   [[recall]]           -> text "recall: " + JSON array of the texts of all real user
 *                           messages (system reminders and tool results skipped)
 *
 * Which tool a [[shell:]] or [[patch:]] calls is picked from the request's `tools`
 * by the first name in SHELL_TOOLS / WRITE_TOOLS that it offers, so the same mock
 * serves any client whose tools are in those tables; required string fields the
 * table does not fill are given a short placeholder.
 *
 * `count_tokens` is answered (a fixed count); any other path is a 404. Both are
 * recorded in `otherRequests`. A request with `"stream": false` gets the same
 * message as one JSON body.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import * as path from "node:path";
import { listenLoopback, marker, mockHandler, pickScenario, readBody, usageMarker, type OtherRequest } from "./mockCommon.ts";

/** The scenario markers this mock serves, first match wins. */
const SCENARIOS = ['fail', 'hang', 'shell', 'patch', 'json', 'recall'];

export interface MockRequest {
  /** Parsed JSON body of a POST /v1/messages request. */
  body: any;
  /** Text of the last real user message (system reminders left out). */
  prompt: string;
  /** True when this request carries a tool result after the last real user message. */
  followUp: boolean;
  /** Scenario picked for this request (answer, echo-prompt, shell, patch, fail, hang, json, recall). */
  scenario: string;
  headers: Record<string, string | string[] | undefined>;
}


export type { OtherRequest };

export interface MockServer {
  /** Base URL without `/v1`, e.g. http://127.0.0.1:PORT (what ANTHROPIC_BASE_URL takes). */
  url: string;
  port: number;
  /** Every POST /v1/messages request, in arrival order. */
  requests: MockRequest[];
  /** Every other request (count_tokens, unknown paths, ...). */
  otherRequests: OtherRequest[];
  close(): Promise<void>;
}

export const DEFAULT_USAGE = { input_tokens: 100, cache_read_input_tokens: 20, output_tokens: 10 } as const;

type Json = Record<string, unknown>;

/** A tool the mock knows how to call, by the name a client gives it. */
interface ToolShape {
  name: string;
  input(arg: string): Json;
}

/** Shell tools, most specific first: Claude Code's `Bash`, Copilot's `bash`/`powershell`, Gemini's. */
export const SHELL_TOOLS: ToolShape[] = [
  { name: "Bash", input: (command) => ({ command }) },
  { name: "bash", input: (command) => ({ command, description: "mock command" }) },
  { name: "shell", input: (command) => ({ command }) },
  { name: "powershell", input: (command) => ({ command, description: "mock command" }) },
  { name: "run_shell_command", input: (command) => ({ command }) },
];

/** File-creating tools (`arg` is the file's path as the tool wants it). */
export const WRITE_TOOLS: ToolShape[] = [
  { name: "Write", input: (file) => ({ file_path: file, content: "x" }) },
  { name: "create", input: (file) => ({ path: file, file_text: "x" }) },
  { name: "str_replace_editor", input: (file) => ({ command: "create", path: file, file_text: "x" }) },
  { name: "write_file", input: (file) => ({ file_path: file, content: "x" }) },
];

const REMINDER = /^\s*<(system-reminder|environment_context|user_instructions)\b/;
/** Context a client puts in front of the user's own text in the same block (Copilot CLI: the date). */
const INJECTED_PREFIX = /^\s*<current_datetime>[^<]*<\/current_datetime>\s*/;

function blocks(content: unknown): any[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? content : [];
}

/** The user's own text of a message: its text blocks minus the client's injected reminders. */
function ownText(message: any): string {
  return blocks(message?.content)
    .filter((b) => b?.type === "text" && typeof b.text === "string" && !REMINDER.test(b.text))
    .map((b) => (b.text as string).replace(INJECTED_PREFIX, ""))
    .join("");
}

/** A user message a person wrote: not one that only carries tool results back. */
function isRealUserMessage(message: any): boolean {
  if (message?.role !== "user") return false;
  const bs = blocks(message.content);
  return !bs.some((b) => b?.type === "tool_result") && ownText(message) !== "";
}

function messagesOf(body: any): any[] {
  return Array.isArray(body?.messages) ? body.messages : [];
}

function lastRealUserIndex(body: any): number {
  const messages = messagesOf(body);
  for (let i = messages.length - 1; i >= 0; i--) if (isRealUserMessage(messages[i])) return i;
  return -1;
}

/** Text of the last real user message. */
export function promptOf(body: any): string {
  const i = lastRealUserIndex(body);
  return i < 0 ? "" : ownText(messagesOf(body)[i]);
}

/** Texts of every real user message, oldest first. */
export function userTexts(body: any): string[] {
  return messagesOf(body).filter(isRealUserMessage).map(ownText);
}

/** tool_result blocks after the last real user message (i.e. this request is a follow-up). */
function toolResultsAfterLastUser(body: any): any[] {
  return messagesOf(body)
    .slice(lastRealUserIndex(body) + 1)
    .filter((m) => m?.role === "user")
    .flatMap((m) => blocks(m.content))
    .filter((b) => b?.type === "tool_result");
}

function resultText(block: any): string {
  const c = block?.content;
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((x: any) => (typeof x?.text === "string" ? x.text : "")).join("");
  return JSON.stringify(c ?? "");
}

/** The request's tools by name, with the required properties of their input schema. */
function offeredTools(body: any): Map<string, { required: string[]; properties: Json }> {
  const m = new Map<string, { required: string[]; properties: Json }>();
  for (const t of Array.isArray(body?.tools) ? body.tools : []) {
    if (typeof t?.name !== "string") continue;
    const schema = t.input_schema ?? {};
    m.set(t.name, { required: Array.isArray(schema.required) ? schema.required : [], properties: schema.properties ?? {} });
  }
  return m;
}

/** The first tool of `table` the request offers, with its input; the table's first when it offers none. */
function chooseTool(body: any, table: ToolShape[], arg: string): { name: string; input: Json } {
  const offered = offeredTools(body);
  const shape = table.find((t) => offered.has(t.name)) ?? table[0]!;
  const input = shape.input(arg);
  for (const key of offered.get(shape.name)?.required ?? []) {
    if (!(key in input)) input[key] = "mock";
  }
  return { name: shape.name, input };
}

/** The working directory the client states in its system prompt or messages (Claude Code: a system message), if any. */
function cwdOf(body: any): string | null {
  const texts = [...blocks(body?.system), ...messagesOf(body).flatMap((m) => blocks(m?.content))].map((b) => (typeof b?.text === "string" ? b.text : ""));
  const m = /(?:Primary working directory|[Cc]urrent working directory|Working directory|cwd):\s*(\/[^\s`<]*)/.exec(texts.join("\n"));
  return m ? m[1]! : null;
}

function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, "")}`;
}

function usageOf(prompt: string): { input_tokens: number; output_tokens: number; cache_read_input_tokens: number } {
  const t = usageMarker(prompt, { input: DEFAULT_USAGE.input_tokens, cached: DEFAULT_USAGE.cache_read_input_tokens, output: DEFAULT_USAGE.output_tokens, reasoning: 0 });
  return { input_tokens: t.input, output_tokens: t.output, cache_read_input_tokens: t.cached };
}

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: Json };

function sse(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function apiError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ type: "error", error: { type, message } }));
}

export async function startMockAnthropic(): Promise<MockServer> {
  const requests: MockRequest[] = [];
  const otherRequests: OtherRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const handleMessages = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: any;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8"));
    } catch (err) {
      apiError(res, 400, "invalid_request_error", `mock: bad request body: ${String(err)}`);
      return;
    }
    const prompt = promptOf(body);
    const results = toolResultsAfterLastUser(body);
    const followUp = results.length > 0;
    const scenario = pickScenario(prompt, SCENARIOS);
    requests.push({ body, prompt, followUp, scenario, headers: req.headers });

    if (scenario === "fail") {
      apiError(res, 400, "invalid_request_error", marker(prompt, "fail") || "mock failure requested by [[fail]]");
      return;
    }

    const usage = usageOf(prompt);
    const message = {
      id: newId("msg"),
      type: "message",
      role: "assistant",
      model: typeof body.model === "string" ? body.model : "mock-model",
      content: [] as Block[],
      stop_reason: null as string | null,
      stop_sequence: null,
      usage: { input_tokens: usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: usage.cache_read_input_tokens, output_tokens: 1 },
    };
    const streaming = body.stream !== false;
    let gone = false;
    res.on("close", () => {
      gone = true;
    });
    if (streaming) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      res.flushHeaders();
      res.write(sse("message_start", { message }));
    }

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

    const finish = (content: Block[]): void => {
      const stop_reason = content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
      if (!streaming) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ...message, content, stop_reason, usage: { ...message.usage, output_tokens: usage.output_tokens } }));
        return;
      }
      content.forEach((block, index) => {
        if (block.type === "text") {
          res.write(sse("content_block_start", { index, content_block: { type: "text", text: "" } }));
          res.write(sse("content_block_delta", { index, delta: { type: "text_delta", text: block.text } }));
        } else {
          res.write(sse("content_block_start", { index, content_block: { ...block, input: {} } }));
          res.write(sse("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) } }));
        }
        res.write(sse("content_block_stop", { index }));
      });
      res.write(sse("message_delta", { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
      res.write(sse("message_stop", {}));
      res.end();
    };
    const text = (t: string): Block[] => [{ type: "text", text: t }];
    const toolUse = (tool: { name: string; input: Json }): Block[] => [{ type: "tool_use", id: newId("toolu"), ...tool }];

    switch (scenario) {
      case "shell":
        if (followUp) finish(text("shell output: " + results.map(resultText).join("\n")));
        else finish(toolUse(chooseTool(body, SHELL_TOOLS, marker(prompt, "shell") ?? "")));
        return;
      case "patch": {
        if (followUp) {
          finish(text("patched"));
          return;
        }
        const file = marker(prompt, "patch") || "f.txt";
        const cwd = cwdOf(body);
        finish(toolUse(chooseTool(body, WRITE_TOOLS, cwd && !path.isAbsolute(file) ? path.join(cwd, file) : file)));
        return;
      }
      case "json":
        // Claude Code's --json-schema offers a StructuredOutput tool and insists on a call to it.
        if (!followUp && offeredTools(body).has("StructuredOutput")) finish(toolUse({ name: "StructuredOutput", input: { ok: true } }));
        else finish(text(JSON.stringify({ ok: true })));
        return;
      case "recall":
        finish(text("recall: " + JSON.stringify(userTexts(body))));
        return;
      case "echo-prompt": {
        const bytes = Buffer.from(prompt, "utf8");
        const sha = createHash("sha256").update(bytes).digest("hex");
        finish(text(`echo-prompt sha256=${sha} bytes=${bytes.length}`));
        return;
      }
      default:
        finish(text("mock answer: " + prompt.slice(0, 60)));
    }
  };

  const server = createServer(
    mockHandler(
      (req, res, url) => (req.method === "POST" && (url === "/v1/messages" || url === "/messages") ? handleMessages(req, res) : undefined),
      otherRequests,
      (req, res, url) => {
        if (req.method === "POST" && (url === "/v1/messages/count_tokens" || url === "/messages/count_tokens")) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ input_tokens: DEFAULT_USAGE.input_tokens }));
          return;
        }
        apiError(res, 404, "not_found_error", `mock: no route ${req.method} ${req.url}`);
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
  return { url: `http://127.0.0.1:${port}`, port, requests, otherRequests, close };
}
