/**
 * Creates a throwaway CODEX_HOME whose config.toml points codex at the mock
 * Responses API (see mockResponses.ts). No auth (no env_key), no retries.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
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

/** Returns the path of a new temp dir containing config.toml for the given mock URL (http://127.0.0.1:PORT/v1). */
export function makeCodexHome(mockUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), "codex-home-"));
  writeFileSync(join(dir, "config.toml"), codexConfigToml(mockUrl));
  return dir;
}
