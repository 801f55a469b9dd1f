/**
 * Where the server's log lines go: stdout, asynchronously, with a bounded backlog.
 *
 * pino's default destination queues every line in memory until stdout takes it, without
 * limit. A log reader that falls behind (a busy log shipper, a container runtime's logging
 * driver, a terminal paused with ^S) then grows the server's heap by every request's line:
 * at a few thousand requests a second, tens of MiB a minute, until it runs out of memory. A
 * cache must not fall over because its logs are read slowly, so lines beyond `log.maxBuffer`
 * waiting bytes are dropped (as Docker's `mode: non-blocking` log driver does), counted in
 * `regcache_log_lines_dropped_total`, and once stdout has caught up a warn line says how many
 * were lost.
 *
 * Warn and error lines are the ones that explain an outage, and they are few: they are not
 * dropped at `log.maxBuffer` but only past WARN_RESERVE times it, so the line that says why the
 * upstream is unreachable survives a burst of request lines.
 */
import { Counter, type Registry } from 'prom-client';
import { pino, type DestinationStream } from 'pino';

export interface LogDestination {
  /** pino's destination: stdout's SonicBoom behind the drop policy. */
  readonly stream: DestinationStream;
  /** Once stdout has caught up after drops, tells `logger` how many lines were lost. */
  reportDropsTo(logger: { warn(obj: object, msg?: string): void }): void;
  /** Counts the drops in `registry` as regcache_log_lines_dropped_total. */
  registerMetric(registry: Registry): void;
}

/** Warn and error lines may fill the backlog up to this many times `log.maxBuffer`. */
export const WARN_RESERVE = 4;

/** pino's level number, read from the start of its JSON line (`{"level":30,…`); 0 if not there. */
function levelOf(line: string): number {
  return line.startsWith('{"level":') ? Number.parseInt(line.slice(9, 11), 10) || 0 : 0;
}

export function createLogDestination(opts: { maxBuffer: number; fd?: number }): LogDestination {
  const sonic = pino.destination({ dest: opts.fd ?? 1, sync: false, maxLength: opts.maxBuffer * WARN_RESERVE });
  let dropped = 0;
  let reported = 0;
  // Bytes handed to stdout and not yet written (lines are ASCII JSON in practice: their length
  // stands for their bytes; a drain resets the count, so a difference cannot accumulate).
  let pending = 0;
  sonic.on('drop', () => void dropped++);
  sonic.on('write', (n: number) => void (pending = Math.max(0, pending - n)));
  sonic.on('drain', () => void (pending = 0));
  const write = (line: string): boolean => {
    if (pending + line.length > opts.maxBuffer && levelOf(line) < 40) {
      dropped++;
      return false;
    }
    const before = dropped;
    const more = sonic.write(line); // a line SonicBoom refuses is counted by its 'drop', synchronously
    if (dropped === before) pending += line.length;
    return more;
  };
  // pino calls write() and, if there, flush(); the exit-time flush is registered on `sonic` itself.
  const stream = { write, flush: (cb?: (err?: Error) => void) => sonic.flush(cb) };
  return {
    stream,
    reportDropsTo(logger) {
      // 'drain': everything queued has been written. The warn line is queued like any other
      // (into an empty buffer, so it is not dropped itself).
      sonic.on('drain', () => {
        if (dropped === reported) return;
        const lines = dropped - reported;
        reported = dropped;
        logger.warn({ droppedLines: lines, droppedLinesTotal: dropped, maxBuffer: opts.maxBuffer }, `${lines} log lines dropped: stdout did not take them as fast as they came (log.maxBuffer)`);
      });
    },
    registerMetric(registry) {
      let counted = 0;
      new Counter({
        name: 'regcache_log_lines_dropped_total',
        help: 'Log lines dropped because stdout did not keep up (log.maxBuffer)',
        registers: [registry],
        collect() {
          this.inc(dropped - counted);
          counted = dropped;
        },
      });
    },
  };
}
