import { INVALID_REQUEST, STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { Transform } from 'node:stream';
/** The most one JSON-RPC line on stdin may hold: the SDK's own limit (10 MiB). */
export const MAX_STDIO_MESSAGE_BYTES = STDIO_DEFAULT_MAX_BUFFER_SIZE;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** A top-level member longer than this is not an id worth answering with. */
const MEMBER_CAP = 512;
/**
 * Reads the top-level "id" and "method" of a JSON object that arrives in pieces and is never held
 * whole. Only what lies at depth 1 outside strings of nested values is kept, member by member, so
 * an "id" inside params or inside a prompt's text is never taken for the request's: the SDK's
 * client writes the id after params, at the very end of the line.
 */
class EnvelopeScanner {
    depth = 0;
    inString = false;
    escaped = false;
    member = [];
    memberTooLong = false;
    id = null;
    hasId = false;
    hasMethod = false;
    get notification() {
        return this.hasMethod && !this.hasId;
    }
    feed(buf) {
        for (let i = 0; i < buf.length; i++) {
            const c = buf[i];
            if (this.inString) {
                if (this.escaped)
                    this.escaped = false;
                else if (c === BACKSLASH)
                    this.escaped = true;
                else if (c === QUOTE)
                    this.inString = false;
                if (this.depth === 1)
                    this.keep(c);
            }
            else if (c === QUOTE) {
                this.inString = true;
                if (this.depth === 1)
                    this.keep(c);
            }
            else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
                this.depth++;
            }
            else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
                if (this.depth === 1)
                    this.endMember();
                if (this.depth > 0)
                    this.depth--;
            }
            else if (this.depth === 1) {
                if (c === 0x2c /* , */)
                    this.endMember();
                else
                    this.keep(c);
            }
        }
    }
    keep(c) {
        if (this.member.length < MEMBER_CAP)
            this.member.push(c);
        else
            this.memberTooLong = true;
    }
    endMember() {
        const text = Buffer.from(this.member).toString('utf8');
        const tooLong = this.memberTooLong;
        this.member = [];
        this.memberTooLong = false;
        const m = /^\s*"((?:[^"\\]|\\.)*)"\s*:\s*([\s\S]*?)\s*$/.exec(text);
        if (!m)
            return;
        if (m[1] === 'method')
            this.hasMethod = true;
        if (m[1] !== 'id' || tooLong)
            return;
        try {
            const value = JSON.parse(m[2]);
            if (typeof value === 'string' || typeof value === 'number') {
                this.id = value;
                this.hasId = true;
            }
        }
        catch {
            // Not a value JSON-RPC allows as an id: answered as unreadable.
        }
    }
}
/**
 * Passes stdin on a line at a time, each line whole, and drops any line longer than `maxBytes`
 * up to its newline, reporting it instead. The SDK's reader would otherwise throw on the first
 * oversized line and stop reading for good: the request unanswered, every later one too, the
 * process alive until stdin closes. Memory stays bounded by one line of `maxBytes`.
 */
export class LineSizeLimit extends Transform {
    maxBytes;
    onOversized;
    pending = [];
    pendingBytes = 0;
    /** Set while the rest of an oversized line is skipped. */
    skipping = null;
    constructor(maxBytes, onOversized) {
        super();
        this.maxBytes = maxBytes;
        this.onOversized = onOversized;
    }
    _transform(chunk, _encoding, done) {
        let start = 0;
        while (start < chunk.length) {
            const newline = chunk.indexOf(NEWLINE, start);
            const end = newline === -1 ? chunk.length : newline + 1;
            this.accept(chunk.subarray(start, end), newline !== -1);
            start = end;
        }
        done();
    }
    _flush(done) {
        // A last line without a newline: the SDK never reads one either, but an oversized one is reported.
        if (this.skipping)
            this.report();
        else if (this.pendingBytes > 0)
            this.push(Buffer.concat(this.pending, this.pendingBytes));
        done();
    }
    accept(piece, endsLine) {
        if (this.skipping) {
            this.skipping.scanner.feed(piece);
            this.skipping.bytes += piece.length;
        }
        else if (this.pendingBytes + piece.length - (endsLine ? 1 : 0) > this.maxBytes) {
            const scanner = new EnvelopeScanner();
            for (const held of this.pending)
                scanner.feed(held);
            scanner.feed(piece);
            this.skipping = { scanner, bytes: this.pendingBytes + piece.length };
            this.pending = [];
            this.pendingBytes = 0;
        }
        else {
            this.pending.push(piece);
            this.pendingBytes += piece.length;
        }
        if (!endsLine)
            return;
        if (this.skipping) {
            this.skipping.bytes--;
            this.report();
        }
        else {
            this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes));
            this.pending = [];
            this.pendingBytes = 0;
        }
    }
    report() {
        const { scanner, bytes } = this.skipping;
        this.skipping = null;
        this.onOversized({ bytes, id: scanner.id, notification: scanner.notification });
    }
}
/**
 * The stdio transport for serveStdio, reading through a LineSizeLimit: an oversized request is
 * answered with an Invalid Request error carrying its id (null when none can be read), a log
 * line says what was dropped, and the lines after it are served as usual.
 */
export function limitedStdioTransport(log, maxBytes = MAX_STDIO_MESSAGE_BYTES) {
    const lines = new LineSizeLimit(maxBytes, (message) => {
        const what = message.id !== null ? `request ${JSON.stringify(message.id)}` : message.notification ? 'a notification' : 'a message with no readable id';
        log('warn', `discarded ${what} of ${message.bytes} bytes on stdin: one message may hold at most ${maxBytes} bytes`);
        if (message.notification)
            return;
        const reply = {
            jsonrpc: '2.0',
            // JSON-RPC 2.0 §5: an id that cannot be determined is answered as null.
            id: message.id,
            error: {
                code: INVALID_REQUEST,
                message: `message of ${message.bytes} bytes is over the ${maxBytes}-byte limit for one message on stdio; put large material in a file in cwd and refer to it in the prompt`,
            },
        };
        transport.send(reply).catch((err) => log('warn', `answering an oversized message: ${err.message}`));
    });
    process.stdin.pipe(lines);
    // pipe() does not carry errors: hand them on, so the transport reports them and closes as before.
    process.stdin.on('error', (err) => lines.destroy(err));
    const transport = new (class extends StdioServerTransport {
        async close() {
            await super.close();
            // The SDK pauses the stream it reads, now ours: stdin itself must stop too, or its open
            // handle keeps the process alive after shutdown.
            process.stdin.unpipe(lines);
            process.stdin.pause();
        }
    })(lines, process.stdout, {
        // Each line arrives whole and within the limit; the SDK's own check, on everything it holds
        // at once, must not fire first.
        maxBufferSize: 2 * maxBytes + 2,
    });
    return transport;
}
//# sourceMappingURL=stdio-limit.js.map