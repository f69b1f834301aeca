import { buildExecArgs } from './argv.js';
import { codexStream } from './stream.js';
/** The OpenAI Codex CLI: `codex exec --json`, the prompt on stdin, its own OS sandbox. */
export const codex = {
    name: 'codex',
    title: 'Codex CLI',
    command: 'codex',
    install: 'npm install -g @openai/codex',
    parseVersion: (stdout) => stdout.trim().replace(/^codex-cli\s+/, ''),
    stream: codexStream,
    argv: (spec) => buildExecArgs({
        cwd: spec.cwd,
        access: spec.access,
        lastMessageFile: spec.lastMessageFile,
        model: spec.model,
        reasoningEffort: spec.reasoningEffort,
        outputSchemaFile: spec.outputSchemaFile,
        images: spec.images,
        addDirs: spec.addDirs,
        resumeThreadId: spec.resume,
        privateTmp: spec.privateTmp,
    }),
    env: () => ({}),
    unsupported: [],
    // codex exits 0 only after a turn it completed; its own SIGINT exit is 1.
    exitZeroNeedsTurn: false,
    turnCompletedMark: '"type":"turn.completed"',
    provider: async (env) => (await import('./provider.js')).codexProviderReading(env),
};
//# sourceMappingURL=index.js.map