import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'jsonc-parser';
import { codexConfigToml } from './helpers/codexHome.ts';
import { CODEX_BIN, codexExec, delegatedJob, ROOT, SERVER_MAIN, tempDir, useHarness } from './helpers/harness.ts';

/**
 * `install <client>` and `uninstall <client>`, run as a person would: the built CLI with a private
 * HOME (and project directory, and CODEX_HOME), then the exact file each client reads is checked.
 */

/** A PATH with no claude, gemini or code on it: the files are edited directly. */
const NO_CLIENTS = tempDir('no-clients');
/** The pinned real codex (a node script, so node must be on PATH too). */
const WITH_CODEX = [path.join(ROOT, 'node_modules/.bin'), path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json(): any;
}

function cli(args: string[], o: { home: string; cwd?: string; path?: string; env?: Record<string, string> }): Run {
  const r = spawnSync(process.execPath, [SERVER_MAIN, ...args], {
    cwd: o.cwd ?? o.home,
    encoding: 'utf8',
    env: { HOME: o.home, PATH: o.path ?? NO_CLIENTS, NO_COLOR: '1', ...o.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

function ok(run: Run): Run {
  assert.equal(run.status, 0, `exit ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
const read = (file: string) => fs.readFileSync(file, 'utf8');
const backups = (file: string) => fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith(`${path.basename(file)}.`) && f.endsWith('.bak'));

/** What every client is told to launch: this node and this build, by absolute path. */
const launch = { command: process.execPath, args: [SERVER_MAIN] };

describe('install edits the config file each client reads', () => {
  // client, scope, file (from HOME, or from the project directory), the key holding servers, the entry's extra fields
  const cases: [string, string, (home: string, project: string) => string, string, Record<string, unknown>][] = [
    ['claude-code', 'user', (h) => path.join(h, '.claude.json'), 'mcpServers', { type: 'stdio' }],
    ['claude-code', 'project', (_h, p) => path.join(p, '.mcp.json'), 'mcpServers', { type: 'stdio' }],
    ['cursor', 'user', (h) => path.join(h, '.cursor/mcp.json'), 'mcpServers', {}],
    ['cursor', 'project', (_h, p) => path.join(p, '.cursor/mcp.json'), 'mcpServers', {}],
    ['vscode', 'user', (h) => path.join(h, '.config/Code/User/mcp.json'), 'servers', { type: 'stdio' }],
    ['vscode', 'project', (_h, p) => path.join(p, '.vscode/mcp.json'), 'servers', { type: 'stdio' }],
    ['claude-desktop', 'user', (h) => path.join(h, '.config/Claude/claude_desktop_config.json'), 'mcpServers', {}],
    ['windsurf', 'user', (h) => path.join(h, '.codeium/windsurf/mcp_config.json'), 'mcpServers', {}],
    ['gemini', 'user', (h) => path.join(h, '.gemini/settings.json'), 'mcpServers', {}],
    ['gemini', 'project', (_h, p) => path.join(p, '.gemini/settings.json'), 'mcpServers', {}],
  ];

  for (const [client, scope, fileOf, key, extra] of cases) {
    it(`${client} --scope ${scope}: creates ${fileOf('~', '.')} with the absolute command, args and env`, () => {
      const home = tempDir('home');
      // The real path: the CLI sees its working directory resolved.
      const project = fs.realpathSync(tempDir('project'));
      const file = fileOf(home, project);
      const r = ok(cli(['install', client, '--scope', scope, '--env', 'CODEX_ASYNC_MAX_CONCURRENT=4', '--json'], { home, cwd: project }));
      assert.deepEqual(r.json(), { client, scope, name: 'codex-async', action: 'added', file });
      assert.deepEqual(JSON.parse(read(file)), { [key]: { 'codex-async': { ...extra, ...launch, env: { CODEX_ASYNC_MAX_CONCURRENT: '4' } } } });
      assert.deepEqual(backups(file), [], 'a new file has nothing to back up');
    });
  }

  it('claude-code --scope local: the entry goes under the project directory in ~/.claude.json', () => {
    const home = tempDir('home');
    const project = fs.realpathSync(tempDir('project'));
    write(path.join(home, '.claude.json'), '{\n  "numStartups": 3\n}\n');
    ok(cli(['install', 'claude-code', '--scope', 'local'], { home, cwd: project }));
    const config = JSON.parse(read(path.join(home, '.claude.json')));
    assert.equal(config.numStartups, 3);
    assert.deepEqual(config.projects[project].mcpServers['codex-async'], { type: 'stdio', ...launch });
    assert.equal(config.mcpServers, undefined, 'not in the user scope');
  });

  it('keeps comments, other servers and other keys byte for byte, and backs the file up first (vscode JSONC)', () => {
    const home = tempDir('home');
    const file = path.join(home, '.config/Code/User/mcp.json');
    const original = [
      '{',
      '  // servers I use at work',
      '  "servers": {',
      '    "other": { "type": "stdio", "command": "other-mcp" }, // keep me',
      '    "last": {',
      '      "command": "last-mcp"',
      '    }',
      '  },',
      '  "inputs": [{ "id": "token", "type": "promptString" }]',
      '}',
      '',
    ].join('\n');
    write(file, original);
    const r = ok(cli(['install', 'vscode', '--json'], { home })).json();
    assert.equal(r.action, 'added');
    assert.equal(read(r.backup), original, 'the backup is the file as it was');
    const text = read(file);
    for (const line of original.split('\n').filter((l) => l.trim() !== '')) assert.ok(text.includes(line), `kept: ${line}`);
    const config = parse(text);
    assert.deepEqual(config.servers['codex-async'], { type: 'stdio', ...launch });
    assert.deepEqual(Object.keys(config.servers).sort(), ['codex-async', 'last', 'other']);
    assert.deepEqual(config.inputs, [{ id: 'token', type: 'promptString' }]);

    // Uninstall takes out our entry and nothing else: the file is as it was.
    const u = ok(cli(['uninstall', 'vscode', '--json'], { home })).json();
    assert.equal(u.action, 'removed');
    assert.equal(read(file), original);
    assert.equal(read(u.backup), text);
    assert.equal(ok(cli(['uninstall', 'vscode', '--json'], { home })).json().action, 'absent');
  });

  it('a second install reports unchanged, and neither rewrites nor backs up the file', () => {
    const home = tempDir('home');
    const file = path.join(home, '.cursor/mcp.json');
    write(file, '{ "mcpServers": {} }\n');
    ok(cli(['install', 'cursor', '--env', 'A=1'], { home }));
    const after = read(file);
    const mtime = fs.statSync(file).mtimeMs;
    assert.equal(backups(file).length, 1);
    const again = ok(cli(['install', 'cursor', '--env', 'A=1'], { home }));
    assert.match(again.stdout, /already registered with Cursor \(user scope\) in ~\/\.cursor\/mcp\.json: nothing to change/);
    assert.equal(ok(cli(['install', 'cursor', '--env', 'A=1', '--json'], { home })).json().action, 'unchanged');
    assert.equal(read(file), after);
    assert.equal(fs.statSync(file).mtimeMs, mtime);
    assert.equal(backups(file).length, 1);
  });

  it('a changed --env updates the entry and keeps keys the user added to it', () => {
    const home = tempDir('home');
    const file = path.join(home, '.codeium/windsurf/mcp_config.json');
    ok(cli(['install', 'windsurf', '--env', 'A=1'], { home }));
    const config = JSON.parse(read(file));
    config.mcpServers['codex-async'].disabled = false;
    write(file, JSON.stringify(config, null, 2));
    const r = ok(cli(['install', 'windsurf', '--env', 'B=2', '--json'], { home })).json();
    assert.equal(r.action, 'updated');
    assert.deepEqual(JSON.parse(read(file)).mcpServers['codex-async'], { ...launch, env: { B: '2' }, disabled: false });
    // Installing again without --env (after a Node upgrade, say) keeps the env given last time.
    assert.equal(ok(cli(['install', 'windsurf', '--json'], { home })).json().action, 'unchanged');
    assert.deepEqual(JSON.parse(read(file)).mcpServers['codex-async'], { ...launch, env: { B: '2' }, disabled: false });
  });

  it('--dry-run shows the file and the lines it would add, and changes nothing', () => {
    const home = tempDir('home');
    const missing = path.join(home, '.gemini/settings.json');
    const r = ok(cli(['install', 'gemini', '--dry-run'], { home }));
    assert.match(r.stdout, /would add codex-async to Gemini CLI \(user scope\): ~\/\.gemini\/settings\.json/);
    assert.ok(r.stdout.includes(`+      "command": ${JSON.stringify(process.execPath)},`), r.stdout);
    assert.match(r.stdout, /dry run: nothing was changed/);
    assert.equal(fs.existsSync(path.dirname(missing)), false);

    const file = path.join(home, '.config/Claude/claude_desktop_config.json');
    const original = '{\n  "globalShortcut": "Ctrl+Space"\n}\n';
    write(file, original);
    const j = ok(cli(['install', 'claude-desktop', '--dry-run', '--json'], { home })).json();
    assert.deepEqual(j, { client: 'claude-desktop', scope: 'user', name: 'codex-async', action: 'added', file, dry_run: true });
    assert.equal(read(file), original);
    assert.deepEqual(backups(file), []);

    ok(cli(['install', 'claude-desktop'], { home }));
    const u = ok(cli(['uninstall', 'claude-desktop', '--dry-run'], { home }));
    assert.match(u.stdout, /would remove codex-async from Claude Desktop: ~\/\.config\/Claude\/claude_desktop_config\.json/);
    assert.ok(JSON.parse(read(file)).mcpServers['codex-async'], 'still there');
  });

  it('uninstall removes only our entry', () => {
    const home = tempDir('home');
    const file = path.join(home, '.claude.json');
    write(file, JSON.stringify({ numStartups: 7, mcpServers: { other: { type: 'stdio', command: 'o', args: [] } }, projects: {} }, null, 2));
    ok(cli(['install', 'claude-code', '--name', 'jobs'], { home }));
    assert.ok(JSON.parse(read(file)).mcpServers.jobs);
    const r = ok(cli(['uninstall', 'claude-code', '--name', 'jobs'], { home }));
    assert.match(r.stdout, /removed jobs from Claude Code \(user scope\): ~\/\.claude\.json/);
    assert.deepEqual(JSON.parse(read(file)), { numStartups: 7, mcpServers: { other: { type: 'stdio', command: 'o', args: [] } }, projects: {} });
  });

  it('refuses a config it cannot parse, names it, and leaves it alone', () => {
    const home = tempDir('home');
    const file = path.join(home, '.cursor/mcp.json');
    write(file, '{ "mcpServers": { "other": { "command": "x" }, \n');
    const r = cli(['install', 'cursor'], { home });
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(`${file} is not valid JSON`), r.stderr);
    assert.match(r.stderr, /at line 2, column 1\): fix it \(or move it away\) and run again; it was not changed/);
    assert.equal(read(file), '{ "mcpServers": { "other": { "command": "x" }, \n');
    assert.deepEqual(backups(file), []);

    write(file, '{ "mcpServers": [] }');
    assert.match(cli(['uninstall', 'cursor'], { home }).stderr, /"mcpServers" in .*mcp\.json is not an object: fix it/);
  });

  it('warns about CODEX_BIN and CODEX_ASYNC_* set in the shell but not given with --env, naming the --env that gives them; doctor there says the server does not inherit them', () => {
    const home = tempDir('home');
    const file = path.join(home, '.cursor/mcp.json');
    const shell = { CODEX_BIN: '/opt/codex/bin/codex', CODEX_ASYNC_HOME: path.join(home, 'jobs'), CODEX_ASYNC_TOKEN: 'a-token-for-http-only-0123' };
    const warned = ok(cli(['install', 'cursor', '--env', 'CODEX_ASYNC_MAX_CONCURRENT=4'], { home, env: shell }));
    assert.match(
      warned.stderr,
      /^warning: this shell sets CODEX_ASYNC_HOME, CODEX_BIN, which the installed server will not see: an MCP client starts it with its own environment, not your shell's\. To give them to the server: (codex-async-mcp install cursor --env CODEX_ASYNC_HOME="\$CODEX_ASYNC_HOME" --env CODEX_BIN="\$CODEX_BIN") \(with your --env CODEX_ASYNC_MAX_CONCURRENT again/m,
    );
    assert.doesNotMatch(warned.stderr, /\/opt\/codex|TOKEN/, 'no value is printed; the HTTP token is no stdio server\'s business');
    assert.deepEqual(cli(['install', 'cursor', '--json'], { home, env: shell }).json().not_passed, ['CODEX_ASYNC_HOME', 'CODEX_BIN']);

    // The command it names, run in that shell, gives the server what the shell has.
    const advice = /To give them to the server: codex-async-mcp (install cursor [^(]*?) \(/.exec(warned.stderr)![1]!;
    const done = spawnSync('/bin/sh', ['-c', `"$NODE" "$MAIN" ${advice} --env CODEX_ASYNC_MAX_CONCURRENT=4`], {
      cwd: home,
      encoding: 'utf8',
      env: { HOME: home, PATH: NO_CLIENTS, NO_COLOR: '1', NODE: process.execPath, MAIN: SERVER_MAIN, ...shell },
    });
    assert.equal(done.status, 0, done.stderr);
    assert.equal(done.stderr, '', 'nothing left to warn about');
    const { CODEX_ASYNC_TOKEN: _token, ...given } = shell;
    assert.deepEqual(JSON.parse(read(file)).mcpServers['codex-async'].env, { ...given, CODEX_ASYNC_MAX_CONCURRENT: '4' });
    assert.equal(ok(cli(['install', 'cursor'], { home, env: shell })).stderr, '', 'installed again without --env, the entry keeps them');

    const doctor = (env: Record<string, string>) => JSON.parse(cli(['doctor', '--json'], { home, env }).stdout).checks.find((c: { name: string }) => c.name === 'environment');
    const said = doctor(shell);
    assert.equal(said.level, 'info');
    assert.match(said.detail, /used CODEX_ASYNC_HOME, CODEX_BIN from this shell; a server an MCP client starts does not inherit/);
    assert.match(said.fix, /install <client> --env/);
    assert.equal(doctor({}), undefined, 'nothing to say when the shell sets none');
  });

  it('bad client, scope, env and name exit 2 and say what to do', () => {
    const home = tempDir('home');
    const cases: [string[], RegExp][] = [
      [['install', 'emacs'], /unknown client "emacs": use one of claude-code, codex, cursor, vscode, claude-desktop, windsurf, gemini/],
      [['uninstall', 'emacs'], /unknown client "emacs"/],
      [['install', 'claude-desktop', '--scope', 'project'], /Claude Desktop has only a user configuration \(~\/\.config\/Claude\/claude_desktop_config\.json\): leave out --scope/],
      [['install', 'windsurf', '--scope', 'project'], /Windsurf has only a user configuration/],
      [['install', 'codex', '--scope', 'project'], /Codex CLI has only a user configuration/],
      [['install', 'cursor', '--scope', 'local'], /--scope for Cursor is one of user, project, got "local"/],
      [['install', 'vscode', '--scope', 'global'], /--scope for VS Code is one of user, project, got "global"/],
      [['install', 'cursor', '--env', 'NOEQUALS'], /--env takes KEY=VALUE.*got "NOEQUALS"/],
      [['install', 'cursor', '--env', '1A=x'], /--env takes KEY=VALUE.*not starting with a digit; got "1A=x"/],
      [['install', 'cursor', '--env', 'A-B=x'], /--env takes KEY=VALUE/],
      [['install', 'cursor', '--env', 'A=1', '--env', 'A=2'], /--env A is given twice/],
      [['install', 'cursor', '--name', 'my server'], /--name takes letters, digits, "-" and "_".*got "my server"/],
      [['install'], /missing required argument 'client'/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args, { home });
      assert.equal(r.status, 2, `${args.join(' ')} exits 2`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.deepEqual(fs.readdirSync(home), [], 'nothing was written');
  });

  it('replaces a remote server under our name whole, reads files with a byte-order mark, and never leaves a half-written file', () => {
    const home = tempDir('home');
    const cursor = path.join(home, '.cursor/mcp.json');
    write(cursor, JSON.stringify({ mcpServers: { 'codex-async': { url: 'https://example.invalid/mcp', headers: { a: 'b' } } } }));
    ok(cli(['install', 'cursor'], { home }));
    assert.deepEqual(JSON.parse(read(cursor)).mcpServers['codex-async'], launch);

    const gemini = path.join(home, '.gemini/settings.json');
    write(gemini, '\uFEFF{\n  "theme": "dark"\n}\n');
    ok(cli(['install', 'gemini'], { home }));
    assert.ok(read(gemini).startsWith('\uFEFF{'), 'the byte-order mark stays');
    assert.deepEqual(JSON.parse(read(gemini).slice(1)).mcpServers['codex-async'], launch);

    // A write that fails half-way (here: a file size limit) leaves the old file whole.
    const before = read(gemini);
    const limited = spawnSync('/bin/sh', ['-c', `ulimit -f 1; exec "$0" "$@"`, process.execPath, SERVER_MAIN, 'install', 'gemini', '--env', `BIG=${'x'.repeat(2000)}`], {
      cwd: home,
      encoding: 'utf8',
      env: { HOME: home, PATH: NO_CLIENTS, NO_COLOR: '1' },
    });
    assert.equal(limited.status, 1, limited.stderr);
    assert.match(limited.stderr, /could not write .*settings\.json .*it was left as it was; your file before this command is .*\.bak/);
    assert.equal(read(gemini), before);
    assert.deepEqual(fs.readdirSync(path.dirname(gemini)).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  });

  it("uses `claude mcp add` / `claude mcp remove` when claude is on PATH, with the absolute command", () => {
    const home = tempDir('home');
    const bin = tempDir('bin');
    const log = path.join(bin, 'argv.log');
    // A stand-in claude that records its arguments: what matters is what we ask of it.
    write(path.join(bin, 'claude'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> "${log}"\necho --- >> "${log}"\n`);
    fs.chmodSync(path.join(bin, 'claude'), 0o755);
    const calls = () => read(log).split('---\n').filter(Boolean).map((c) => c.trimEnd().split('\n'));

    const r = ok(cli(['install', 'claude-code', '--env', 'A=1 2', '--json'], { home, path: bin })).json();
    assert.equal(r.action, 'added');
    assert.equal(r.command, `${path.join(bin, 'claude')} mcp add --scope user codex-async -e 'A=1 2' -- ${process.execPath} ${SERVER_MAIN}`);
    assert.deepEqual(calls(), [['mcp', 'add', '--scope', 'user', 'codex-async', '-e', 'A=1 2', '--', process.execPath, SERVER_MAIN]]);

    // An entry that differs is replaced: claude refuses to add a name it has.
    write(path.join(home, '.claude.json'), JSON.stringify({ mcpServers: { 'codex-async': { type: 'stdio', command: 'old', args: [], env: {} } } }));
    fs.rmSync(log);
    const u = ok(cli(['install', 'claude-code', '--json'], { home, path: bin })).json();
    assert.equal(u.action, 'updated');
    assert.ok(u.backup);
    assert.deepEqual(calls(), [
      ['mcp', 'remove', '--scope', 'user', 'codex-async'],
      ['mcp', 'add', '--scope', 'user', 'codex-async', '--', process.execPath, SERVER_MAIN],
    ]);

    fs.rmSync(log);
    ok(cli(['uninstall', 'claude-code', '--scope', 'user'], { home, path: bin }));
    assert.deepEqual(calls(), [['mcp', 'remove', '--scope', 'user', 'codex-async']]);
  });
});

describe('client config locations', () => {
  it('keys a claude-code local entry by the project directory with forward slashes on Windows', async () => {
    const { clientNamed } = await import('../src/cli/clients.ts');
    const client = clientNamed('claude-code');
    assert.ok(client && client.format === 'json');
    const at = { home: 'C:\\Users\\me', cwd: 'C:\\Users\\me\\proj', platform: 'win32' as const, searchPath: '', appData: undefined, xdgConfigHome: undefined, codexHome: undefined, codexBin: undefined, claudeConfigDir: undefined };
    assert.deepEqual(client.serversAt('local', at), ['projects', 'C:/Users/me/proj', 'mcpServers']);
  });
});

describe('install codex', () => {
  const original = '# my codex settings\nmodel = "gpt-5.5"\n\n[mcp_servers.other]\ncommand = "other-mcp"\n';

  it('without codex on PATH, writes the [mcp_servers] table itself, with default_tools_approval_mode = "approve"', () => {
    const home = tempDir('home');
    const codexHome = tempDir('codex-home');
    const file = path.join(codexHome, 'config.toml');
    write(file, original);
    const env = { CODEX_HOME: codexHome };
    const r = ok(cli(['install', 'codex', '--env', 'CODEX_ASYNC_MAX_CONCURRENT=2', '--json'], { home, env })).json();
    assert.deepEqual(Object.keys(r).sort(), ['action', 'backup', 'client', 'file', 'name', 'scope']);
    assert.equal(r.action, 'added');
    assert.equal(read(r.backup), original);
    assert.equal(
      read(file),
      original +
        [
          '',
          '[mcp_servers.codex-async]',
          'default_tools_approval_mode = "approve"',
          'tool_timeout_sec = 300',
          `command = ${JSON.stringify(process.execPath)}`,
          `args = [${JSON.stringify(SERVER_MAIN)}]`,
          '',
          '[mcp_servers.codex-async.env]',
          'CODEX_ASYNC_MAX_CONCURRENT = "2"',
          '',
        ].join('\n'),
    );
    assert.equal(ok(cli(['install', 'codex', '--env', 'CODEX_ASYNC_MAX_CONCURRENT=2', '--json'], { home, env })).json().action, 'unchanged');
    assert.equal(backups(file).length, 1);
    ok(cli(['uninstall', 'codex'], { home, env }));
    assert.equal(read(file), original);
  });

  it('updates our table in place, keeping the keys and comments the user put in it, and refuses forms it cannot edit', () => {
    const home = tempDir('home');
    const codexHome = tempDir('codex-home');
    const file = path.join(codexHome, 'config.toml');
    const env = { CODEX_HOME: codexHome };
    write(
      file,
      [
        'model = "o3"',
        '',
        '# my server',
        '[mcp_servers.codex-async]',
        'command = "/old/node"',
        'args = ["/old/main.js"]',
        'tool_timeout_sec = 900  # long jobs',
        'startup_timeout_sec = 30',
        '',
        '[mcp_servers.codex-async.env]',
        'CODEX_BIN = "/opt/codex"',
        '',
      ].join('\n'),
    );
    // codex on PATH too: an update must not go through `codex mcp add`, which drops these keys.
    const r = ok(cli(['install', 'codex', '--json'], { home, env, path: WITH_CODEX })).json();
    assert.equal(r.action, 'updated');
    assert.equal(r.command, undefined);
    const text = read(file);
    for (const kept of ['# my server', 'tool_timeout_sec = 900  # long jobs', 'startup_timeout_sec = 30', 'CODEX_BIN = "/opt/codex"', 'default_tools_approval_mode = "approve"']) {
      assert.ok(text.includes(kept), `kept: ${kept}\n${text}`);
    }
    assert.ok(text.includes(`command = ${JSON.stringify(process.execPath)}`));
    assert.doesNotMatch(text, /\/old\//);
    assert.equal(ok(cli(['install', 'codex', '--json'], { home, env })).json().action, 'unchanged');

    for (const [form, body] of [
      ['an inline table', '[mcp_servers]\ncodex-async = { command = "/old/node", args = [] }\n'],
      ['dotted keys', 'mcp_servers.codex-async.command = "/old/node"\n'],
      ['a sub-table after another table', '[mcp_servers.codex-async]\ncommand = "/old/node"\n\n[other]\nx = 1\n\n[mcp_servers.codex-async.env]\nA = "1"\n'],
    ]) {
      write(file, body!);
      const refused = cli(['install', 'codex'], { home, env });
      assert.equal(refused.status, 2, `${form}: ${refused.stderr}`);
      assert.match(refused.stderr, /does not rewrite: remove it \(`codex mcp remove codex-async`\) and install again/);
      assert.equal(read(file), body, `${form} left alone`);
    }
    write(file, 'model = "o3\n');
    const invalid = cli(['install', 'codex'], { home, env });
    assert.equal(invalid.status, 2);
    assert.match(invalid.stderr, /config\.toml is not valid TOML \(line 1, column \d+\)/);
  });

  it('runs the real `codex mcp add`, then adds the approval setting it cannot set; codex reads the table back', () => {
    const home = tempDir('home');
    const codexHome = tempDir('codex-home');
    const file = path.join(codexHome, 'config.toml');
    write(file, original);
    const env = { CODEX_HOME: codexHome };
    const r = ok(cli(['install', 'codex', '--env', 'CODEX_ASYNC_MAX_CONCURRENT=2', '--json'], { home, env, path: WITH_CODEX })).json();
    assert.equal(r.action, 'added');
    assert.equal(r.command, `${CODEX_BIN} mcp add codex-async --env CODEX_ASYNC_MAX_CONCURRENT=2 -- ${process.execPath} ${SERVER_MAIN}`);

    const text = read(file);
    assert.ok(text.startsWith(original.trimEnd()), 'the rest of config.toml is kept');
    const table = text.slice(text.indexOf('[mcp_servers.codex-async]'));
    assert.match(table, /^\[mcp_servers\.codex-async\]\ndefault_tools_approval_mode = "approve"\ntool_timeout_sec = 300\n/);
    const get = spawnSync(CODEX_BIN, ['mcp', 'get', 'codex-async', '--json'], { encoding: 'utf8', env: { HOME: home, CODEX_HOME: codexHome, PATH: WITH_CODEX } });
    const server = JSON.parse(get.stdout);
    assert.equal(server.transport.command, process.execPath);
    assert.deepEqual(server.transport.args, [SERVER_MAIN]);
    assert.deepEqual(server.transport.env, { CODEX_ASYNC_MAX_CONCURRENT: '2' });
    assert.equal(server.tool_timeout_sec, 300);

    const again = ok(cli(['install', 'codex', '--env', 'CODEX_ASYNC_MAX_CONCURRENT=2', '--json'], { home, env, path: WITH_CODEX })).json();
    assert.deepEqual(again, { client: 'codex', scope: 'user', name: 'codex-async', action: 'unchanged', file });
    assert.equal(read(file), text);

    const gone = ok(cli(['uninstall', 'codex', '--json'], { home, env, path: WITH_CODEX })).json();
    assert.equal(gone.action, 'removed');
    assert.equal(gone.command, `${CODEX_BIN} mcp remove codex-async`);
    assert.equal(read(file).trimEnd(), original.trimEnd());
  });

  describe('end to end', () => {
    const s = useHarness();

    it('codex exec calls codex_start on the server `install codex` registered, and the job runs', async () => {
      // The harness's CODEX_HOME points codex at the mock Responses API; install adds our table to it.
      const env = s.h.env();
      const before = read(path.join(s.h.codexHome, 'config.toml'));
      assert.equal(before, codexConfigToml(s.h.mock.url));
      ok(
        cli(
          ['install', 'codex', '--env', `CODEX_ASYNC_HOME=${env.CODEX_ASYNC_HOME}`, '--env', `CODEX_BIN=${CODEX_BIN}`, '--env', `CODEX_HOME=${s.h.codexHome}`],
          { home: env.HOME, env: { CODEX_HOME: s.h.codexHome }, path: WITH_CODEX },
        ),
      );
      assert.ok(read(path.join(s.h.codexHome, 'config.toml')).startsWith(before.trimEnd()), 'the mock provider settings are kept');

      const inner = s.h.workdir();
      // Codex names the tools' namespace after the server with "-" made "_".
      // The mock answers after 3 s and searches again while it finds nothing, so our server, which codex starts, is up when codex looks for its tools.
      const run = await codexExec(env, s.h.workdir(), `[[slow:3000]] [[mcp:codex_async|${inner}]] hand this to the job server`);
      assert.equal(run.status, 0);
      await delegatedJob(s.h, run.events, 'codex-async', inner);
    });
  });
});

