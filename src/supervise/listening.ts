import fs from 'node:fs';

/** TCP_LISTEN in the `st` column of /proc/net/tcp{,6} (include/net/tcp_states.h). */
const LISTEN = '0A';

/**
 * The TCP ports something on this machine (in this network namespace) listens on, any address, from
 * /proc/net/tcp and /proc/net/tcp6: a port block holding one is not handed to a job, whose dev
 * server would then fail to bind. Empty where /proc/net is missing (not Linux, a restricted
 * container): the check is then skipped, not the job.
 */
export function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    // "sl local_address rem_address st …": local_address is ADDR:PORT in hex.
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== LISTEN) continue;
      const port = parseInt(fields[1]?.split(':')[1] ?? '', 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return ports;
}
