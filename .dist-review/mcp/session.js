/**
 * Runs `cleanup` when this session ends, after whatever else was registered: the SDK has one
 * `onclose` slot, and each part that watches jobs for a session (tools, resources) must release
 * its watches without replacing another's.
 */
export function onSessionClose(server, cleanup) {
    const previous = server.server.onclose;
    server.server.onclose = () => {
        cleanup();
        previous?.();
    };
}
//# sourceMappingURL=session.js.map