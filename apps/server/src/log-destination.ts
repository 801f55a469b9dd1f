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
 */
import { Counter, type Registry } from 'prom-client';
import { pino } from 'pino';

export interface LogDestination {
  /** pino's destination stream (SonicBoom). */
  readonly stream: ReturnType<typeof pino.destination>;
  /** Once stdout has caught up after drops, tells `logger` how many lines were lost. */
  reportDropsTo(logger: { warn(obj: object, msg?: string): void }): void;
  /** Counts the drops in `registry` as regcache_log_lines_dropped_total. */
  registerMetric(registry: Registry): void;
}

export function createLogDestination(opts: { maxBuffer: number; fd?: number }): LogDestination {
  const stream = pino.destination({ dest: opts.fd ?? 1, sync: false, maxLength: opts.maxBuffer });
  let dropped = 0;
  let reported = 0;
  stream.on('drop', () => void dropped++);
  return {
    stream,
    reportDropsTo(logger) {
      // 'drain': everything queued has been written. The warn line is queued like any other
      // (into an empty buffer, so it is not dropped itself).
      stream.on('drain', () => {
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
