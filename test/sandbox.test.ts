/**
 * Our OS sandbox (src/supervise/sandbox.ts) around the agents that have none of their own: the real
 * Claude Code, Copilot CLI and Gemini CLI, driven by their mocks to run the commands that got past
 * their own permission checks on an unsandboxed server (issue 20), and a machine where bubblewrap
 * cannot be had.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { bwrapArgs, bwrapCommand, gitDirsOf, namedSockets, sessionSockets, socketsIn } from '../src/supervise/sandbox.ts';
import { installedCopilotVersion, nativeCopilot } from '../src/agents/copilot/binary.ts';
import { copilotSandboxWrites } from '../src/agents/copilot/state.ts';
import { COPILOT_CACHE, mockedAgent } from './helpers/agentMocks.ts';
import { runSpec, useAgentServer } from './helpers/contract.ts';
import { git, gitRepo } from './helpers/git.ts';
import { cliIn, ROOT, tempDir, waitFinal } from './helpers/harness.ts';
import { SANDBOX_MISSING } from './helpers/sandbox.ts';

describe('the bubblewrap command line', () => {
  const base = ['--die-with-parent', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-ipc'];
  const hidden = ['SSH_AUTH_SOCK', 'DBUS_SESSION_BUS_ADDRESS', 'DOCKER_HOST', 'TMUX', 'XDG_RUNTIME_DIR'].flatMap((v) => ['--unsetenv', v]);
  const spec = {
    workspace: ['/w', '/extra'], writable: ['/h/.claude', '/jobs/j/tmp'], locked: ['/h/.claude/settings.json', '/h/.claude/plugins', '/h/.claude/tmp/bin'], gitDirs: ['/w/.git'],
    masked: ['/home/u/.ssh/agent.sock'],
  };
  // The agent's own state, in either mode: writable, a mount point for the locked path inside it, then its settings and code read-only.
  const state = [
    '--bind', '/h/.claude', '/h/.claude',
    '--bind', '/jobs/j/tmp', '/jobs/j/tmp',
    '--bind', '/h/.claude/tmp', '/h/.claude/tmp',
    '--ro-bind', '/h/.claude/settings.json', '/h/.claude/settings.json',
    '--ro-bind', '/h/.claude/plugins', '/h/.claude/plugins',
    '--ro-bind', '/h/.claude/tmp/bin', '/h/.claude/tmp/bin',
  ];
  const last = ['--ro-bind', '/dev/null', '/home/u/.ssh/agent.sock'];

  it('read-only: all read-only, the session variables unset, but what the agent itself writes (not its settings and code); the workspace stays read-only', () => {
    assert.deepEqual(bwrapArgs({ mode: 'read-only', ...spec }), [
      ...base,
      ...hidden,
      '--ro-bind', '/w', '/w',
      '--ro-bind', '/extra', '/extra',
      '--ro-bind', '/w/.git', '/w/.git',
      ...state,
      ...last,
    ]);
  });

  it('workspace-write: cwd and add_dirs writable, then their .git read-only again, then the agent\'s own state, its settings and code read-only', () => {
    assert.deepEqual(bwrapArgs({ mode: 'workspace-write', ...spec }), [
      ...base,
      ...hidden,
      '--bind', '/w', '/w',
      '--bind', '/extra', '/extra',
      '--ro-bind', '/w/.git', '/w/.git',
      ...state,
      ...last,
    ]);
    const unshared = bwrapArgs({ mode: 'workspace-write', ...spec }).filter((a) => a.startsWith('--unshare'));
    assert.deepEqual(unshared, ['--unshare-ipc'], 'network and pids stay shared');
  });

  it('runs the agent with default signal handling under a bwrap that ignores INT, TERM and HUP', () => {
    const c = bwrapCommand('/usr/bin/bwrap', { mode: 'read-only', workspace: [], writable: [], gitDirs: [] }, '/bin/claude', ['-p']);
    assert.equal(c.command, '/bin/sh');
    assert.equal(c.args[1], `trap '' INT TERM HUP; exec "$@"`);
    assert.deepEqual(c.args.slice(3, 4), ['/usr/bin/bwrap']);
    assert.deepEqual(c.args.slice(-5), ['--', 'env', '--default-signal=INT,TERM,HUP', '/bin/claude', '-p']);
  });

  it('finds the socket files the session variables name, in each of their forms', async () => {
    const dir = tempDir('sockets');
    const sock = (name: string) => {
      const file = path.join(dir, name);
      const server = net.createServer().listen(file);
      return { file, server };
    };
    const [ssh, bus, docker, tmux] = [sock('ssh'), sock('bus'), sock('docker'), sock('tmux')];
    await Promise.all([ssh, bus, docker, tmux].map((s) => new Promise((r) => s.server.once('listening', r))));
    try {
      assert.deepEqual(
        namedSockets({
          SSH_AUTH_SOCK: ssh.file,
          DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus.file},guid=0f;unix:abstract=/tmp/dbus-x`,
          DOCKER_HOST: `unix://${docker.file}`,
          TMUX: `${tmux.file},1234,0`,
          XDG_RUNTIME_DIR: dir,
        }).sort(),
        [ssh.file, bus.file, docker.file, tmux.file].sort(),
      );
    } finally {
      for (const s of [ssh, bus, docker, tmux]) s.server.close();
    }
  });

  it('finds the socket files where sessions keep them, down to a depth, not through links; a link to one is covered at its real path', async () => {
    const top = tempDir('socket-places');
    const at = (rel: string) => {
      const file = path.join(top, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      return net.createServer().listen(file);
    };
    const servers = [at('tmux-0/default'), at('a/b/too-deep')];
    await Promise.all(servers.map((server) => new Promise((r) => server.once('listening', r))));
    fs.symlinkSync(path.join(top, 'tmux-0'), path.join(top, 'link'));
    try {
      assert.deepEqual(socketsIn([[top, 2]]), [path.join(top, 'tmux-0/default')]);
      const linked = path.join(tempDir('home'), 'agent.sock');
      fs.symlinkSync(path.join(top, 'tmux-0/default'), linked);
      assert.ok(sessionSockets({ SSH_AUTH_SOCK: linked }).includes(path.join(top, 'tmux-0/default')));
    } finally {
      for (const server of servers) server.close();
    }
  });

  it('finds the .git (directory or worktree file) at the top of each workspace directory', () => {
    const repo = gitRepo({ 'a.txt': 'a\n' });
    const plain = tempDir('plain');
    assert.deepEqual(gitDirsOf([repo, plain]), [path.join(repo, '.git')]);
  });
});

const copilot = mockedAgent('copilot');

describe('Copilot CLI in our sandbox', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(copilot);

  const run = async (prompt: string, extra: Record<string, unknown>) => {
    const { job_id } = await s.conn.call('codex_start', { prompt, agent: 'copilot', ...extra });
    return waitFinal(s.conn, job_id);
  };

  const changedRepo = () => {
    const repo = gitRepo({ 'a.txt': 'a\n' });
    fs.writeFileSync(path.join(repo, 'a.txt'), 'changed\n');
    return repo;
  };

  it('read-only: git diff with an external diff command (GIT_EXTERNAL_DIFF) writes nothing outside', async () => {
    const marker = path.join(s.h.env().HOME!, 'ext-diff-ran');
    const done = await run(`[[shell:GIT_EXTERNAL_DIFF='touch ${marker}; :' git diff --ext-diff HEAD]]`, { cwd: changedRepo(), sandbox: 'read-only' });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `Copilot ran the command: ${done.output}`);
    assert.equal(fs.existsSync(marker), false, 'the external diff command wrote outside');
  });

  it('read-only: git diff --output cannot overwrite a file in the home', async () => {
    const repo = changedRepo();
    const bashrc = path.join(s.h.env().HOME!, '.bashrc');
    fs.writeFileSync(bashrc, '# the user\'s own\n');
    const done = await run(`[[shell:git diff --output=${bashrc} HEAD]]`, { cwd: repo, sandbox: 'read-only' });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `Copilot ran the command: ${done.output}`);
    assert.match(done.last_message, /Read-only file system/);
    assert.equal(fs.readFileSync(bashrc, 'utf8'), '# the user\'s own\n');
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'changed\n');
  });

  it('workspace-write in a worktree: writes its worktree, but not the config or refs of the shared .git', async () => {
    const repo = gitRepo({ 'a.txt': 'a\n' });
    git(repo, 'checkout', '-q', '-b', 'other');
    fs.writeFileSync(path.join(repo, 'b.txt'), 'b\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'other');
    git(repo, 'checkout', '-q', 'main');
    const main = git(repo, 'rev-parse', 'main');
    const config = fs.readFileSync(path.join(repo, '.git', 'config'), 'utf8');

    const command = "echo ok > inside.txt; git config core.fsmonitor 'touch fsmonitor-ran'; git update-ref refs/heads/main other; echo done";
    const done = await run(`[[shell:${command}]]`, { cwd: repo, sandbox: 'workspace-write', isolation: 'worktree' });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `Copilot ran the command: ${done.output}`);
    assert.match(done.last_message, /done/);
    assert.equal(git(repo, 'rev-parse', 'main'), main, 'main moved');
    assert.equal(fs.readFileSync(path.join(repo, '.git', 'config'), 'utf8'), config, 'the repository config changed');
    const diff = await s.conn.call('codex_diff', { job_id: done.job_id, stat_only: true });
    assert.deepEqual(diff.files.map((f: { path: string }) => f.path), ['inside.txt'], 'the write inside the worktree is the change');
    git(repo, 'status');
    assert.equal(fs.existsSync(path.join(repo, 'fsmonitor-ran')), false);
  });
});

/**
 * A node -e script that tries to write each path (`~` is the home, `@VAR` a variable of the job; no `$`, which the shell would expand) and
 * prints `<code> <path>`, or `WROTE <path>`. It names no path, so the agent's own path check has
 * nothing to refuse: what stops it is the sandbox.
 */
const plantScript = (paths: string[]) =>
  `const fs = require('fs'), path = require('path'); for (let f of ${JSON.stringify(paths).replaceAll('"', "'")}) { ` +
  "f = f.replace(/^~/, require('os').homedir()).replace(/^@(\\w+)/, (_, v) => process.env[v]); " +
  "try { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.appendFileSync(f, '// planted'); console.log('WROTE ' + f) } catch (e) { console.log(e.code + ' ' + f) } }";

describe('the sockets of the user\'s session, from inside our sandbox', { skip: SANDBOX_MISSING }, () => {
  // A tmux server's socket is in /tmp, a D-Bus bus's and docker's in /run, an ssh-agent's wherever
  // SSH_AUTH_SOCK says (here in /var/tmp, where the sandbox looks for none unless named): each runs
  // commands outside the sandbox for whoever connects.
  const servers: net.Server[] = [];
  const connections: string[] = [];
  const socketAt = (file: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    const server = net.createServer((c) => {
      connections.push(file);
      c.destroy();
    });
    server.listen(file);
    servers.push(server);
    return file;
  };
  const inTmp = socketAt(path.join(tempDir('tmux'), 'default'));
  const agent = socketAt(path.join(fs.mkdtempSync('/var/tmp/cam-ssh-'), 'agent.sock'));
  const asRoot = process.getuid?.() === 0;
  const inRun = asRoot ? [socketAt(`/run/cam-test-${process.pid}/bus`)] : [];
  // The job's command reads the paths from its environment: a path it named would be refused by
  // Copilot's own check rather than by the sandbox.
  const s = useAgentServer(copilot, { SSH_AUTH_SOCK: agent, CAM_TEST_SOCKETS: [inTmp, agent, ...inRun].join(',') });
  after(() => {
    for (const server of servers) server.close();
    fs.rmSync(path.dirname(agent), { recursive: true, force: true });
    if (asRoot) fs.rmSync(path.dirname(inRun[0]!), { recursive: true, force: true });
  });

  it('workspace-write: a command cannot connect to a Unix socket in /tmp, /run or the one SSH_AUTH_SOCK names, nor see that variable', async () => {
    const script =
      "console.log('agent=' + process.env.SSH_AUTH_SOCK); for (const p of process.env.CAM_TEST_SOCKETS.split(',')) " +
      "require('net').connect(p).on('connect', () => console.log('CONNECTED ' + p)).on('error', (e) => console.log(e.code + ' ' + p))";
    const { job_id } = await s.conn.call('codex_start', { prompt: `[[shell:node -e "${script}"]]`, cwd: s.h.workdir(), agent: 'copilot', sandbox: 'workspace-write' });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `Copilot ran the command: ${done.output}`);
    assert.match(done.last_message, /agent=undefined/);
    assert.equal((done.last_message.match(/(ENOENT|ECONNREFUSED) \//g) ?? []).length, 2 + inRun.length, done.last_message);
    assert.doesNotMatch(done.last_message, /CONNECTED/);
    assert.deepEqual(connections, []);
  });
});

describe('what Copilot CLI runs at its next start, from inside our sandbox', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(copilot);

  it('workspace-write: a command cannot plant a hook, plugin, agent, skill, MCP or language server, nor change its unpacked program', async () => {
    const home = s.h.env().HOME!;
    const unpacked = path.join(COPILOT_CACHE, 'copilot', 'pkg');
    const version = fs.readdirSync(path.join(unpacked, 'linux-x64'))[0]!;
    const planted = [
      '~/.copilot/hooks/hooks.json', '~/.copilot/installed-plugins/p/plugin.json', '~/.copilot/agents/a.agent.md',
      '~/.copilot/skills/s/SKILL.md', '~/.copilot/mcp-config.json', '~/.copilot/lsp-config.json',
      '~/.copilot/permissions-config.json', '~/.copilot/pkg/linux-x64/0.0.1/app.js',
      `@XDG_CACHE_HOME/copilot/pkg/linux-x64/${version}/planted.js`,
    ];
    try {
      const { job_id } = await s.conn.call('codex_start', { prompt: `[[shell:node -e "${plantScript(planted)}"]]`, cwd: s.h.workdir(), agent: 'copilot', sandbox: 'workspace-write' });
      const done = await waitFinal(s.conn, job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.progress.commands_run, 1, `Copilot ran the command: ${done.output}`);
      assert.doesNotMatch(done.last_message, /WROTE/);
      // A recursive mkdir under a read-only directory fails with ENOENT.
      assert.equal((done.last_message.match(/(EROFS|ENOENT) \//g) ?? []).length, planted.length, done.last_message);
      assert.ok(fs.readdirSync(path.join(home, '.copilot', 'session-state')).length > 0, 'its session was saved in ~/.copilot');
    } finally {
      // Without the fix the shared cache would keep the planted file.
      fs.rmSync(path.join(unpacked, 'linux-x64', version, 'planted.js'), { force: true });
    }
  });
});

describe('Copilot CLI\'s program, unpacked before its sandbox', { skip: SANDBOX_MISSING }, () => {
  it('is unpacked outside the sandbox for a version not yet unpacked, then kept read-only', async () => {
    const cache = tempDir('copilot-cache');
    try {
      const binary = nativeCopilot(path.join(ROOT, 'node_modules', '.bin', 'copilot'));
      const version = installedCopilotVersion(binary)!;
      const env = { ...process.env, HOME: tempDir('copilot-home'), XDG_CACHE_HOME: cache };
      const writes = await copilotSandboxWrites(runSpec({ jobDir: tempDir('job') }), env, binary);
      const unpacked = path.join(cache, 'copilot', 'pkg');
      assert.ok(fs.existsSync(path.join(unpacked, `${process.platform}-${process.arch}`, version, '.extraction-complete')), 'unpacked');
      assert.ok(writes.lockedDirs!.includes(unpacked));
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('what Gemini CLI runs at its next start, from inside our sandbox', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(mockedAgent('gemini'));

  it('workspace-write: its shell cannot plant an extension, .env, command, skill, agent, policy, helper program or trusted folder', async () => {
    const planted = [
      '~/.gemini/extensions/x/gemini-extension.json', '~/.gemini/extensions/extension-enablement.json', '~/.gemini/.env',
      '~/.gemini/commands/c.toml', '~/.gemini/skills/s/SKILL.md', '~/.gemini/agents/a.md', '~/.gemini/policies/p.toml',
      '~/.gemini/tmp/bin/rg', '~/.gemini/trustedFolders.json', '~/.gemini/settings.json',
    ];
    const { job_id } = await s.conn.call('codex_start', { prompt: `[[shell:node -e "${plantScript(planted)}"]]`, cwd: s.h.workdir(), agent: 'gemini', sandbox: 'workspace-write' });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `gemini ran the command: ${done.output}`);
    assert.doesNotMatch(done.last_message, /WROTE/);
    // A recursive mkdir under a read-only directory fails with ENOENT.
    assert.equal((done.last_message.match(/(EROFS|ENOENT) \//g) ?? []).length, planted.length, done.last_message);
  });

  it('workspace-write: its shell cannot move the directory holding a read-only one aside to make a writable one in its place', async () => {
    const script =
      "const fs = require('fs'), d = require('os').homedir() + '/.gemini/tmp'; " +
      "try { fs.renameSync(d, d + '.old'); fs.mkdirSync(d + '/bin', { recursive: true }); fs.writeFileSync(d + '/bin/rg', 'planted'); console.log('MOVED') } catch (e) { console.log('refused ' + e.code) }";
    const { job_id } = await s.conn.call('codex_start', { prompt: `[[shell:node -e "${script}"]]`, cwd: s.h.workdir(), agent: 'gemini', sandbox: 'workspace-write' });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `gemini ran the command: ${done.output}`);
    assert.doesNotMatch(done.last_message, /MOVED/);
    assert.match(done.last_message, /refused (EBUSY|EROFS|EPERM)/);
    assert.equal(fs.existsSync(path.join(s.env.HOME ?? s.h.env().HOME!, '.gemini/tmp.old')), false);
  });
});

describe('Claude Code in our sandbox', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(mockedAgent('claude'));

  it('read-only writes nothing outside (nor its own settings, plugins or hooks), even with a command the user\'s own allow rule lets through', async () => {
    const home = s.h.env().HOME!;
    fs.mkdirSync(path.join(home, '.claude'), { recursive: true });
    fs.writeFileSync(path.join(home, '.claude', 'settings.json'), JSON.stringify({ permissions: { allow: ['Bash(node:*)'] } }));
    const cwd = s.h.workdir();
    // It names no path, so Claude Code's own path check has nothing to refuse.
    const script =
      "const h = require('os').homedir(); for (const f of [h + '/claude-ro.txt', 'ro.txt', h + '/.claude/settings.json', h + '/.claude/plugins/installed_plugins.json', h + '/.claude/hooks/pre.sh']) " +
      "try { require('fs').writeFileSync(f, 'x') } catch (e) { console.log(e.code) }";
    const { job_id } = await s.conn.call('codex_start', { prompt: `[[shell:node -e "${script}"]]`, cwd, agent: 'claude', sandbox: 'read-only' });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, `the allow rule let the command run: ${done.output}`);
    assert.match(done.last_message, /EROFS[\s\S]*EROFS[\s\S]*EROFS[\s\S]*EROFS[\s\S]*EROFS/);
    assert.equal(fs.existsSync(path.join(home, 'claude-ro.txt')), false, 'it wrote outside');
    assert.equal(fs.existsSync(path.join(cwd, 'ro.txt')), false, 'it wrote its cwd');
    assert.match(fs.readFileSync(path.join(home, '.claude', 'settings.json'), 'utf8'), /Bash\(node:\*\)/, 'it rewrote the settings your own claude runs');
    assert.ok(fs.readdirSync(path.join(home, '.claude', 'projects')).length > 0, 'its session was saved in ~/.claude');
  });
});

describe('a machine where the sandbox cannot be made', () => {
  const s = useAgentServer(mockedAgent('claude'), { CODEX_ASYNC_BWRAP: '/nonexistent/bwrap' });

  it('refuses a Claude Code job at codex_start and codex_reply, saying why and what to do; codex jobs are not affected', async () => {
    const result = await s.conn.raw('codex_start', { prompt: 'hello', cwd: s.h.workdir(), agent: 'claude', sandbox: 'read-only' });
    assert.equal(result.isError, true);
    const text = result.content[0].text as string;
    assert.match(text, /bubblewrap \(\/nonexistent\/bwrap\) is not installed/);
    assert.match(text, /apt-get install bubblewrap/);
    assert.match(text, /agent "codex"/);
    const reply = await s.conn.raw('codex_reply', { thread_id: '0199a213-81c0-7800-8aa1-bbab2a035a53', cwd: s.h.workdir(), prompt: 'go on', agent: 'claude' });
    assert.equal(reply.isError, true);
    assert.match(reply.content[0].text, /^sandbox_unavailable: Claude Code runs inside our bubblewrap sandbox/);
    const codex = await s.conn.call('codex_start', { prompt: 'hello', cwd: s.h.workdir(), sandbox: 'read-only' });
    assert.equal((await waitFinal(s.conn, codex.job_id)).status, 'completed');
  });
});

describe('doctor and the sandbox', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(mockedAgent('claude'));

  it('says bubblewrap works here, and FAILs with the fix where it is missing and Claude Code is installed', async () => {
    const works = await cliIn(s.h.env(s.env), ['doctor', '--json']);
    const ok = JSON.parse(works.stdout).checks.find((c: { name: string }) => c.name === 'sandbox');
    assert.equal(ok.level, 'ok', JSON.stringify(ok));
    const missing = await cliIn(s.h.env({ ...s.env, CODEX_ASYNC_BWRAP: '/nonexistent/bwrap' }), ['doctor', '--json']);
    assert.equal(missing.code, 1, missing.stdout);
    const failed = JSON.parse(missing.stdout).checks.find((c: { name: string }) => c.name === 'sandbox');
    assert.equal(failed.level, 'fail', JSON.stringify(failed));
    assert.match(failed.detail, /bubblewrap \(\/nonexistent\/bwrap\) is not installed: [^\n]*Claude Code[^\n]* jobs are refused/);
    assert.match(failed.fix, /apt-get install bubblewrap/);
  });
});
