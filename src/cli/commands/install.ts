import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import { findExecutable } from '../../agents/binary.js';
import {
  CLIENT_NAMES,
  clientNamed,
  type Client,
  type JsonClient,
  type Launch,
  type Places,
  type Scope,
  type TomlClient,
} from '../clients.js';
import { checkCodexEdit, codexSettingLines, readCodexServer, withCodexSettings, withCodexTable, withoutCodexTable } from '../codexconfig.js';
import { backUp, edited, readJson, readText, sameEntry, withEntry, writeText } from '../configfile.js';
import { settingsSetIn } from '../../config.js';
import { CliError, EXIT } from '../exit.js';
import { outFor, tildify, type Out } from '../render.js';

type Action = 'added' | 'updated' | 'unchanged' | 'removed' | 'absent';

interface Options {
  scope?: string;
  env?: string[];
  name: string;
  dryRun?: boolean;
  json?: boolean;
}

/** What --json prints. */
interface Result {
  client: string;
  scope: Scope;
  name: string;
  action: Action;
  file: string;
  command?: string;
  backup?: string;
  dry_run?: true;
  /** Server settings this shell sets that the entry does not give: the server will not see them. */
  not_passed?: string[];
}

/** What a change is, worked out before anything is touched, so --dry-run shows exactly it. */
interface Plan {
  action: Action;
  file: string;
  /** The client's own commands, run in order. */
  commands: string[][];
  /** The file before and after, when we edit it ourselves. */
  before?: string;
  after?: string;
  /** Codex: settings to put in the table once its own command has written it. */
  settings?: { lines: string[]; apply(text: string): string | null };
  /** Install: the environment the entry gives the server. */
  env?: Record<string, string>;
}

const HELP = `
The client launches this node and this build by absolute path (GUI apps do not see your shell's
PATH): run install again after moving the build or upgrading Node. Claude Code and Codex are
registered with their own \`mcp add\` when it is on PATH; otherwise the client's config file is
edited in place, keeping its comments and other settings, after a copy is saved next to it
(FILE.<time>.bak). Running install again changes nothing when the entry is already right.

The client starts the server with an environment of its own, not your shell's: CODEX_BIN,
CODEX_ASYNC_HOME and the other CODEX_ASYNC_* settings reach it only through --env. install warns
about each one set in this shell and not given, with the --env that gives it.

Examples:
  codex-async-mcp install claude-code                    for you, in every project
  codex-async-mcp install cursor --scope project         .cursor/mcp.json in this directory
  codex-async-mcp install codex --env CODEX_ASYNC_MAX_CONCURRENT=4
  codex-async-mcp install vscode --dry-run               show the change, make none
  codex-async-mcp uninstall claude-desktop`;

export function registerInstall(program: Command): void {
  const scope = 'user (default) or project (.mcp.json, .cursor/, .vscode/ or .gemini/ in this directory); claude-code also local';
  program
    .command('install')
    .description('register this server with an MCP client')
    .argument('<client>', CLIENT_NAMES.join(' | '))
    .option('--scope <scope>', scope)
    .option('--env <KEY=VALUE>', 'environment for the server (repeatable)', (value: string, all: string[] | undefined) => [...(all ?? []), value])
    .option('--name <name>', 'the name the client knows the server by', 'codex-async')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', HELP)
    .action((client: string, opts: Options, cmd: Command) => act('install', client, opts, cmd));
  program
    .command('uninstall')
    .description('remove this server from an MCP client')
    .argument('<client>', CLIENT_NAMES.join(' | '))
    .option('--scope <scope>', scope)
    .option('--name <name>', 'the name the client knows the server by', 'codex-async')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  codex-async-mcp uninstall claude-code\n  codex-async-mcp uninstall vscode --scope project --dry-run')
    .action((client: string, opts: Options, cmd: Command) => act('uninstall', client, opts, cmd));
}

function act(verb: 'install' | 'uninstall', clientName: string, opts: Options, cmd: Command): void {
  const out = outFor(cmd, opts);
  const at = placesOfThisProcess();
  const client = clientNamed(clientName);
  if (!client) throw new CliError(`unknown client "${clientName}": use one of ${CLIENT_NAMES.join(', ')}`);
  const scope = scopeFor(client, opts.scope, at);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(opts.name)) {
    throw new CliError(`--name takes letters, digits, "-" and "_" (the names every client accepts), got "${opts.name}"`);
  }
  const plan =
    verb === 'install'
      ? planInstall(client, scope, opts.name, { ...thisServer(), env: opts.env ? parseEnv(opts.env) : undefined }, at)
      : planUninstall(client, scope, opts.name, at);
  const backup = opts.dryRun ? undefined : carryOut(plan);
  const notPassed = plan.env ? settingsSetIn(process.env).filter((key) => !(key in plan.env!)) : [];
  const result: Result = {
    client: client.name,
    scope,
    name: opts.name,
    action: plan.action,
    file: plan.file,
    ...(plan.commands.length ? { command: plan.commands.map(shellLine).join(' && ') } : {}),
    ...(backup ? { backup } : {}),
    ...(opts.dryRun ? { dry_run: true as const } : {}),
    ...(notPassed.length ? { not_passed: notPassed } : {}),
  };
  if (out.json) out.data(result);
  else report(out, client, result, plan);
  if (notPassed.length) out.warn(notPassedWarning(notPassed, clientName, opts, plan.env!));
}

/**
 * doctor ran in this shell and passed, so the user expects the server to see what it saw; it will
 * not (settingsSetIn). The fix names the shell's own variables, so no value (a Redis password) is
 * printed; an --env list replaces the one given before, so that one is to be given again.
 */
function notPassedWarning(names: string[], client: string, opts: Options, given: Record<string, string>): string {
  const options = [...(opts.scope ? [`--scope ${opts.scope}`] : []), ...(opts.name !== 'codex-async' ? [`--name ${opts.name}`] : [])];
  const kept = Object.keys(given).length ? ` (with your --env ${Object.keys(given).join(', ')} again: a new --env list replaces the old)` : '';
  return (
    `this shell sets ${names.join(', ')}, which the installed server will not see: an MCP client starts it with its own environment, not your shell's. ` +
    `To give ${names.length === 1 ? 'it' : 'them'} to the server: codex-async-mcp install ${[client, ...options, ...names.map((k) => `--env ${k}="$${k}"`)].join(' ')}${kept}`
  );
}

function placesOfThisProcess(): Places {
  const env = process.env;
  return {
    home: os.homedir(),
    cwd: process.cwd(),
    platform: process.platform,
    searchPath: env.PATH ?? '',
    appData: env.APPDATA,
    xdgConfigHome: env.XDG_CONFIG_HOME,
    codexHome: env.CODEX_HOME,
    codexBin: env.CODEX_BIN,
    claudeConfigDir: env.CLAUDE_CONFIG_DIR,
  };
}

/** GUI apps do not see the shell's PATH, so clients get absolute paths: this node, this build. */
function thisServer(): Omit<Launch, 'env'> {
  return { command: process.execPath, args: [fileURLToPath(new URL('../main.js', import.meta.url))] };
}

function scopeFor(client: Client, asked: string | undefined, at: Places): Scope {
  const scope = asked ?? client.scopes[0]!;
  if ((client.scopes as readonly string[]).includes(scope)) return scope as Scope;
  if (client.scopes.length === 1) {
    throw new CliError(`${client.title} has only a user configuration (${tildify(client.file('user', at))}): leave out --scope`);
  }
  throw new CliError(`--scope for ${client.title} is one of ${client.scopes.join(', ')}, got "${scope}"`);
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new CliError(`--env takes KEY=VALUE, KEY made of letters, digits and "_" and not starting with a digit; got "${pair}"`);
    }
    if (key in env) throw new CliError(`--env ${key} is given twice`);
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

// ---- Planning: read the client's config, decide what changes ----

/** The launch to install; `env` undefined (no --env given) keeps whatever environment is there. */
type Given = Omit<Launch, 'env'> & { env: Record<string, string> | undefined };

function planInstall(client: Client, scope: Scope, name: string, given: Given, at: Places): Plan {
  return client.format === 'toml' ? planCodexInstall(client, name, given, at) : planJsonInstall(client, scope, name, given, at);
}

function planUninstall(client: Client, scope: Scope, name: string, at: Places): Plan {
  const file = client.file(scope, at);
  const bin = client.cli ? which(client.cli.bin(at), at) : null;
  if (client.format === 'toml') {
    const text = readText(file) ?? '';
    const current = readCodexServer(text, name, file);
    if (current === null) return { action: 'absent', file, commands: [] };
    if (bin) return { action: 'removed', file, commands: [[bin, ...client.cli!.remove(scope, name)]] };
    const after = withoutCodexTable(text, name);
    checkCodexEdit(after, name, null, file);
    return { action: 'removed', file, commands: [], before: text, after };
  }
  const servers = client.serversAt(scope, at);
  const doc = readJson(file, servers, name);
  if (doc.current === undefined) return { action: 'absent', file, commands: [] };
  if (bin) return { action: 'removed', file, commands: [[bin, ...client.cli!.remove(scope, name)]] };
  return { action: 'removed', file, commands: [], before: doc.text, after: edited(doc.text, [...servers, name], undefined) };
}

function planJsonInstall(client: JsonClient, scope: Scope, name: string, given: Given, at: Places): Plan {
  const file = client.file(scope, at);
  const servers = client.serversAt(scope, at);
  const doc = readJson(file, servers, name);
  // Installing again without --env keeps the environment given last time.
  const currentEnv = (doc.current as { env?: Record<string, string> } | undefined)?.env;
  const launch = { ...given, env: given.env ?? currentEnv ?? {} };
  const wanted = client.entry(launch);
  const env = launch.env;
  if (sameEntry(doc.current, wanted)) return { action: 'unchanged', file, commands: [], env };
  const action = doc.current === undefined ? 'added' : 'updated';
  const bin = client.cli ? which(client.cli.bin(at), at) : null;
  if (bin) {
    // Its `mcp add` refuses a name that exists: replace means remove, then add.
    const remove = doc.current === undefined ? [] : [[bin, ...client.cli!.remove(scope, name)]];
    return { action, file, commands: [...remove, [bin, ...client.cli!.add(scope, name, launch)]], env };
  }
  return { action, file, commands: [], before: doc.text, after: withEntry(doc.text, [...servers, name], doc.current, wanted), env };
}

/**
 * A new table is added with `codex mcp add` when codex is there, then given our settings; an
 * existing one is edited in place, since `codex mcp add` would drop every key the user put in it.
 */
function planCodexInstall(client: TomlClient, name: string, given: Given, at: Places): Plan {
  const file = client.file('user', at);
  const text = readText(file) ?? '';
  const current = readCodexServer(text, name, file);
  if (current && !current.editable) {
    throw new CliError(
      `${file} writes mcp_servers.${name} as an inline table, dotted keys or split sub-tables, which this command does not rewrite: ` +
        `remove it (\`codex mcp remove ${name}\`) and install again, or give it ${codexSettingLines().join(' and ')} by hand`,
    );
  }
  const launch = { ...given, env: given.env ?? current?.env ?? {} };
  const same = current !== null && current.command === launch.command && isDeepStrictEqual(current.args, launch.args) && isDeepStrictEqual(current.env, launch.env);
  const bin = current === null ? which(client.cli!.bin(at), at) : null;
  const env = launch.env;
  if (bin) {
    return {
      action: 'added',
      file,
      commands: [[bin, ...client.cli!.add('user', name, launch)]],
      settings: { lines: codexSettingLines(), apply: (t) => withCodexSettings(t, name) },
      env,
    };
  }
  const after = withCodexSettings(same ? text : withCodexTable(text, name, launch), name)!;
  if (after === text) return { action: 'unchanged', file, commands: [], env };
  checkCodexEdit(after, name, launch, file);
  return { action: current === null ? 'added' : 'updated', file, commands: [], before: text, after, env };
}

// ---- Carrying a plan out ----

/** Returns the backup's path, if a file was there to back up. */
function carryOut(plan: Plan): string | undefined {
  if (plan.action === 'unchanged' || plan.action === 'absent') return undefined;
  const backup = backUp(plan.file);
  const write = (text: string) => {
    try {
      writeText(plan.file, text);
    } catch (err) {
      const saved = backup ? `; your file before this command is ${backup}` : '';
      throw new CliError(`could not write ${plan.file} (${(err as Error).message}); it was left as it was${saved}`, EXIT.failed);
    }
  };
  for (const argv of plan.commands) run(argv);
  if (plan.after !== undefined) write(plan.after);
  if (plan.settings) {
    const text = readText(plan.file) ?? '';
    const next = plan.settings.apply(text);
    if (next === null) {
      throw new CliError(`${plan.file} has no [mcp_servers] table for the server after \`${shellLine(plan.commands.at(-1)!)}\`: add ${plan.settings.lines.join(' and ')} to it by hand`, EXIT.failed);
    }
    if (next !== text) write(next);
  }
  return backup;
}


function run(argv: string[]): void {
  const [bin, ...args] = argv;
  const r = spawnSync(bin!, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new CliError(`could not run \`${shellLine(argv)}\`: ${r.error.message}`, EXIT.failed);
  if (r.status !== 0) {
    const said = (r.stderr || r.stdout).split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' / ');
    throw new CliError(`\`${shellLine(argv)}\` failed (exit ${r.status ?? r.signal}): ${said}`, EXIT.failed);
  }
}

/**
 * The client's command on PATH (or CODEX_BIN). On Windows only a .exe counts: npm's .cmd shims
 * need a shell, and quoting arguments through cmd.exe is not safe, so the file is edited instead.
 */
function which(name: string, at: Places): string | null {
  return findExecutable(at.platform === 'win32' && !path.isAbsolute(name) ? `${name}.exe` : name, at.searchPath);
}

// ---- Telling the user ----

/** A command as it would be typed in a POSIX shell. */
function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The lines that differ, between the unchanged lines at the top and at the bottom. */
function changedLines(before: string, after: string): string[] {
  const a = before === '' ? [] : before.replace(/\r?\n$/, '').split(/\r?\n/);
  const b = after === '' ? [] : after.replace(/\r?\n$/, '').split(/\r?\n/);
  let top = 0;
  while (top < a.length && top < b.length && a[top] === b[top]) top++;
  let bottom = 0;
  while (bottom < a.length - top && bottom < b.length - top && a[a.length - 1 - bottom] === b[b.length - 1 - bottom]) bottom++;
  return [`@@ line ${top + 1}`, ...a.slice(top, a.length - bottom).map((l) => `-${l}`), ...b.slice(top, b.length - bottom).map((l) => `+${l}`)];
}

function report(out: Out, client: Client, r: Result, plan: Plan): void {
  const c = out.c;
  const where = client.scopes.length > 1 ? `${client.title} (${r.scope} scope)` : client.title;
  const file = tildify(r.file);
  if (r.action === 'unchanged') return out.line(`${r.name} is already registered with ${where} in ${file}: nothing to change`);
  if (r.action === 'absent') return out.line(`${r.name} is not registered with ${where} in ${file}: nothing to remove`);
  const [verb, preposition] = ({ added: ['add', 'to'], updated: ['update', 'in'], removed: ['remove', 'from'] } as const)[r.action];
  if (r.dry_run) {
    out.line(`would ${verb} ${r.name} ${preposition} ${where}: ${file}`);
    for (const argv of plan.commands) out.line(`  would run: ${shellLine(argv)}`);
    if (plan.settings) out.line(`  then set in [mcp_servers.${r.name}]: ${plan.settings.lines.join(', ')}`);
    if (plan.after !== undefined) {
      for (const line of changedLines(plan.before ?? '', plan.after)) {
        out.line(`  ${line.startsWith('+') ? c.green(line) : line.startsWith('-') ? c.red(line) : c.cyan(line)}`);
      }
    }
    return out.line(c.dim('dry run: nothing was changed'));
  }
  out.line(`${c.green('✓')} ${r.action} ${r.name} ${preposition} ${where}: ${file}`);
  if (r.command) out.line(`  ran: ${r.command}`);
  if (plan.settings) out.line(`  set: ${plan.settings.lines.join(', ')}`);
  if (r.backup) out.line(`  backup: ${tildify(r.backup)}`);
}
