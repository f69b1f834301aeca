/**
 * Creates a throwaway CODEX_HOME whose config.toml points codex at the mock
 * Responses API (see mockResponses.ts). No auth (no env_key), no retries.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function codexConfigToml(mockUrl: string): string {
  return [
    `model = "gpt-5.5"`,
    `model_provider = "mock"`,
    `check_for_update_on_startup = false`,
    ``,
    `[analytics]`,
    `enabled = false`,
    ``,
    // Offline: no curated-plugin sync (git ls-remote github.com, api.github.com,
    // chatgpt.com) and fail fast instead of "Reconnecting... waiting for network" forever.
    `[features]`,
    `plugins = false`,
    `remote_plugin = false`,
    `apps = false`,
    `unbounded_connection_retries = false`,
    ``,
    `[model_providers.mock]`,
    `name = "mock"`,
    `base_url = ${JSON.stringify(mockUrl)}`,
    `wire_api = "responses"`,
    `request_max_retries = 0`,
    `stream_max_retries = 0`,
    ``,
  ].join("\n");
}

/**
 * Where test CODEX_HOMEs go: not under the temp directory. Codex refuses to make its helper aliases
 * (codex-linux-sandbox) in a CODEX_HOME under $TMPDIR, and without them a system bubblewrap older
 * than 0.9 (Debian 12's 0.8, which codex prefers to its bundled one) fails every sandboxed command
 * with "bwrap: execvp codex-linux-sandbox: No such file or directory". A real CODEX_HOME (~/.codex)
 * is never there; /var/tmp is a temp place codex does not count as one.
 */
const CODEX_HOMES = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();

/** Returns the path of a new dir containing config.toml for the given mock URL (http://127.0.0.1:PORT/v1). */
export function makeCodexHome(mockUrl: string): string {
  const dir = mkdtempSync(join(CODEX_HOMES, "codex-home-"));
  writeFileSync(join(dir, "config.toml"), codexConfigToml(mockUrl));
  return dir;
}
