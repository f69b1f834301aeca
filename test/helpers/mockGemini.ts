/**
 * Loopback mock of the Gemini API (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`)
 * for end-to-end tests that drive the real Gemini CLI (`gemini -p "" -o stream-json`), reached
 * through GOOGLE_GEMINI_BASE_URL with any GEMINI_API_KEY.
 *
 * One server serves many concurrent gemini processes: the scenario is chosen only from the
 * content of each request (markers in the prompt = the text of the LAST user message of
 * `body.contents` that carries text, without the CLI's `<session_context>` block), never from
 * per-connection state.
 *
 * Markers (may be combined; `slow` and `usage` are modifiers):
 *   (none)               -> text "mock answer: " + first 60 chars of prompt
 *   [[shell:CMD]]        -> functionCall run_shell_command {command: CMD}; on the follow-up (a
 *                           functionResponse after the last prompt) -> text "shell output: " + the
 *                           command's output (the CLI's "Output: ..." without its wrapper)
 *   [[patch:FILE]]       -> functionCall write_file {file_path: FILE, content: "x"} (called even
 *                           when the CLI did not offer the tool, so a refusal shows); follow-up ->
 *                           text "patched"
 *   [[fail]] / [[fail:MSG]] -> HTTP 400 INVALID_ARGUMENT with MSG, which the CLI does not retry:
 *                           it prints a `result` with status "error" and exits 144
 *   [[slow:MS]]          -> headers at once, the answer after MS ms
 *   [[hang]]             -> headers and a first empty chunk, then nothing until the client
 *                           disconnects or close() is called
 *   [[usage:IN,OUT]]     -> usageMetadata promptTokenCount=IN, candidatesTokenCount=OUT,
 *                           cachedContentTokenCount=floor(IN/5), thoughtsTokenCount=floor(OUT/2);
 *                           default DEFAULT_USAGE per request
 *   [[recall]]           -> text "recall: " + JSON array of the texts of all real user messages
 *
 * Side calls: `:generateContent` (no stream) is the CLI's own helper model — the "auto" model's
 * router asks it to classify the prompt — and gets a classifier answer choosing "flash";
 * `:countTokens` gets a count. Everything else (loadCodeAssist, telemetry...) is a 404 recorded in
 * `otherRequests`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLoopback, marker, mockHandler, pickScenario, readBody, usageMarker, type OtherRequest } from './mockCommon.ts';

/** The scenario markers this mock serves, first match wins. */
const SCENARIOS = ['fail', 'hang', 'shell', 'patch', 'recall'];

export interface GeminiRequest {
  /** Parsed JSON body of a streamGenerateContent request. */
  body: any;
  /** The model named in the path. */
  model: string;
  /** Text of the last user message (the `<session_context>` block left out). */
  prompt: string;
  /** True when this request carries a tool's answer (functionResponse) after the prompt. */
  followUp: boolean;
  /** Scenario picked for this request (answer, shell, patch, fail, hang, recall). */
  scenario: string;
  headers: Record<string, string | string[] | undefined>;
}


export type { OtherRequest };

export interface GeminiMock {
  /** The base URL for GOOGLE_GEMINI_BASE_URL, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every streamGenerateContent request, in arrival order. */
  requests: GeminiRequest[];
  /** Every other request: side calls, unknown paths. */
  otherRequests: OtherRequest[];
  close(): Promise<void>;
}

export const DEFAULT_USAGE = { input_tokens: 100, cached_tokens: 20, output_tokens: 10, thoughts_tokens: 5 } as const;

type Json = Record<string, unknown>;
type Content = { role?: string; parts?: any[] };

/** The CLI opens each session with an injected context block; it is no prompt. */
const isInjected = (text: string) => /^\s*<session_context>/.test(text);

function contentsOf(body: any): Content[] {
  return Array.isArray(body?.contents) ? body.contents.filter((c: unknown) => c && typeof c === 'object') : [];
}

/** The user's own text in one content, or null when it carries none (a tool's answer). */
function userText(content: Content): string | null {
  if (content.role !== 'user' || !Array.isArray(content.parts)) return null;
  const texts = content.parts.filter((p) => typeof p?.text === 'string' && !isInjected(p.text)).map((p) => p.text as string);
  return texts.length > 0 ? texts.join('') : null;
}

function lastPromptIndex(body: any): number {
  const contents = contentsOf(body);
  for (let i = contents.length - 1; i >= 0; i--) if (userText(contents[i]!) !== null) return i;
  return -1;
}

export function promptOf(body: any): string {
  const i = lastPromptIndex(body);
  return i < 0 ? '' : userText(contentsOf(body)[i]!)!;
}

export function userTexts(body: any): string[] {
  return contentsOf(body)
    .map(userText)
    .filter((t): t is string => t !== null);
}

/** The functionResponses sent back after the prompt: this request is a follow-up. */
function toolResponsesAfterPrompt(body: any): any[] {
  return contentsOf(body)
    .slice(lastPromptIndex(body) + 1)
    .flatMap((c) => (Array.isArray(c.parts) ? c.parts : []))
    .filter((p) => p?.functionResponse)
    .map((p) => p.functionResponse);
}

/**
 * What a command printed, from run_shell_command's answer: the CLI wraps it as
 * `<untrusted_context>\nOutput: ...\nProcess Group PGID: N\n</untrusted_context>` (plus Error: /
 * Exit Code: lines when it fails).
 */
function shellOutput(response: any): string {
  const raw = typeof response?.response?.output === 'string' ? response.response.output : JSON.stringify(response?.response ?? '');
  const inner = raw.replace(/<\/?untrusted_context>/g, '').trim();
  const m = /^Output:\s?([\s\S]*?)(?:\n(?:Error|Exit Code|Signal|Background PIDs|Process Group PGID):[\s\S]*)?$/.exec(inner);
  return (m ? m[1]! : inner).trim();
}

function usageOf(prompt: string): Json {
  const t = usageMarker(prompt, { input: DEFAULT_USAGE.input_tokens, cached: DEFAULT_USAGE.cached_tokens, output: DEFAULT_USAGE.output_tokens, reasoning: DEFAULT_USAGE.thoughts_tokens });
  return {
    promptTokenCount: t.input,
    candidatesTokenCount: t.output,
    cachedContentTokenCount: t.cached,
    thoughtsTokenCount: t.reasoning,
    totalTokenCount: t.input + t.output + t.reasoning,
  };
}

const chunk = (parts: Json[], candidate: Json = {}, top: Json = {}): string =>
  `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts }, index: 0, ...candidate }], ...top, responseId: randomUUID() })}\r\n\r\n`;

function errorBody(code: number, status: string, message: string): string {
  return JSON.stringify({ error: { code, message, status } });
}

export async function startGeminiMock(): Promise<GeminiMock> {
  const requests: GeminiRequest[] = [];
  const otherRequests: OtherRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const handleStream = async (req: IncomingMessage, res: ServerResponse, model: string): Promise<void> => {
    let body: any;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8'));
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(errorBody(400, 'INVALID_ARGUMENT', `mock: bad request body: ${String(err)}`));
      return;
    }
    const prompt = promptOf(body);
    const responses = toolResponsesAfterPrompt(body);
    const followUp = responses.length > 0;
    const scenario = pickScenario(prompt, SCENARIOS);
    requests.push({ body, model, prompt, followUp, scenario, headers: req.headers });

    if (scenario === 'fail') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(errorBody(400, 'INVALID_ARGUMENT', marker(prompt, 'fail') || 'mock failure requested by [[fail]]'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    let gone = false;
    res.on('close', () => {
      gone = true;
    });
    if (scenario === 'hang') {
      res.write(chunk([{ text: '' }]));
      return; // kept open: ends when the client disconnects or close() is called
    }
    const slow = marker(prompt, 'slow');
    if (slow !== undefined) {
      const ms = Number.parseInt(slow, 10) || 0;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        timers.add(t);
        res.on('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
      if (gone || closed) return;
    }

    // One chunk carries the parts, the finish reason and the usage, as the API's last chunk does.
    const finish = (parts: Json[]): void => {
      res.end(chunk(parts, { finishReason: 'STOP' }, { usageMetadata: usageOf(prompt), modelVersion: model }));
    };
    switch (scenario) {
      case 'shell':
        if (followUp) finish([{ text: 'shell output: ' + responses.map(shellOutput).join('\n') }]);
        else finish([{ functionCall: { name: 'run_shell_command', args: { command: marker(prompt, 'shell') ?? '' } } }]);
        return;
      case 'patch':
        if (followUp) finish([{ text: 'patched' }]);
        else finish([{ functionCall: { name: 'write_file', args: { file_path: marker(prompt, 'patch') || 'f.txt', content: 'x' } } }]);
        return;
      case 'recall':
        finish([{ text: 'recall: ' + JSON.stringify(userTexts(body)) }]);
        return;
      default:
        finish([{ text: 'mock answer: ' + prompt.slice(0, 60) }]);
    }
  };

  const server = createServer(
    mockHandler(
      (req, res, url) => {
        const stream = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):streamGenerateContent$/.exec(url);
        return req.method === 'POST' && stream ? handleStream(req, res, decodeURIComponent(stream[1]!)) : undefined;
      },
      otherRequests,
      (req, res, url) => {
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method === 'POST' && /:generateContent$/.test(url)) {
          // Both of the router's classifiers read their own fields from the same answer.
          const text = JSON.stringify({ reasoning: 'mock router', model_choice: 'flash', complexity_reasoning: 'mock router', complexity_score: 1 });
          return json(200, {
            candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
            usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
          });
        }
        if (req.method === 'POST' && /:countTokens$/.test(url)) return json(200, { totalTokens: 1 });
        json(404, JSON.parse(errorBody(404, 'NOT_FOUND', `mock: no route ${req.method} ${req.url}`)));
      },
    ),
  );

  const { port, close } = await listenLoopback(server, () => {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
  });
  return { url: `http://127.0.0.1:${port}`, port, requests, otherRequests, close };
}
