/**
 * `regcache` / `regcache-server`: parse flags, load the config, create the pino logger (the
 * only place one is made), start, and shut down cleanly on SIGTERM, SIGINT or SIGHUP (a second
 * signal cuts the connections left at once; the store still closes cleanly, exit code 0).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { createLogDestination } from './log-destination.js';
import { ConfigError, loadConfig, sendfileAvailable, type ConfigFlags } from '@regcache/proxy-core';
import { startServer } from './server.js';
import { frontThreadCount } from './front/front-threads.js';

/** This package's version (dist/main.js → ../package.json, shipped with every install). */
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const program = new Command('regcache')
  .description('A pull-through cache for Docker/OCI container registries')
  .version(version, '-V, --version', 'print the version and exit')
  .option('-c, --config <file>', 'config file (YAML or JSON)')
  .option('-l, --listen <host:port>', 'registry listen address (default 0.0.0.0:5000)')
  .option('-d, --data <dir>', 'data directory (default ./data)')
  .option('-u, --upstream <url>', 'URL of the default upstream (default https://registry-1.docker.io)')
  .option('--admin-listen <addr>', 'admin API: unix:/path or 127.0.0.1:PORT (default unix:<data>/admin.sock)')
  .option('--log-level <level>', 'trace, debug, info, warn, error')
  .showHelpAfterError()
  // Bad flags exit 2, as a bad config does (and as regcache-admin's bad arguments do), not 1.
  .exitOverride();

/**
 * Signals, from the first line on. During start-up (a big store's recovery can take a while) a
 * signal is held, and the server shuts down as soon as it has started, cleanly; a second one
 * then exits at once (exit 1). Once started: the first drains, the second cuts the drain (the
 * store still closes cleanly).
 */
function handleSignals(): { started(stop: (signal: NodeJS.Signals) => void): void } {
  let held: NodeJS.Signals | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const receive = (signal: NodeJS.Signals): void => {
    if (onSignal !== undefined) return onSignal(signal);
    if (held !== undefined) process.exit(1);
    held = signal;
  };
  // SIGHUP (the terminal went away) stops gracefully too, rather than killing the process mid-pull.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => receive(signal));
  return {
    started(stop) {
      onSignal = stop;
      if (held !== undefined) stop(held);
    },
  };
}

async function main(): Promise<void> {
  const signals = handleSignals();
  // Fills and hits read and write files through libuv's thread pool; its default of 4 threads
  // queues them behind each other under load. The pool starts on first use, which is later.
  process.env.UV_THREADPOOL_SIZE ??= '16';
  program.parse();
  const flags = program.opts<ConfigFlags>();
  const config = await loadConfig(flags);
  // The main thread and the front threads accept on one listening socket; by default libuv
  // accepts until the queue is empty, so whichever thread wakes first takes a burst of new
  // connections (wrk's 32 all went to one thread half the time). With this, a thread yields
  // after each accept and the others usually take a share; what it leaves uneven (ab's 32 still
  // landed on one thread in some runs) front/balance.ts evens out by passing connections on.
  // Read by libuv at the first listen (below); without fronts there is nobody to share with.
  if (frontThreadCount(config) > 0) process.env.UV_TCP_SINGLE_ACCEPT ??= '1';
  const logs = createLogDestination({ maxBuffer: config.log.maxBuffer });
  const logger = pino({ level: config.log.level, base: { service: 'regcache' } }, logs.stream);
  logs.reportDropsTo(logger);
  const server = await startServer(config, logger);
  logs.registerMetric(server.cache.metrics.registry);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    // A second signal (an impatient Ctrl-C, a supervisor's repeat): the drain ends now, the store still closes cleanly.
    if (stopping) return server.cutNow(`a second ${signal}`);
    stopping = true;
    logger.info({ signal }, signal === 'SIGHUP' ? 'shutting down (SIGHUP: regcache does not reload its config; start it again to apply a change)' : 'shutting down');
    server.close(config.limits.shutdownTimeout).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  logger.info(
    {
      version,
      listen: server.address,
      admin: server.adminAddress,
      data: config.storage.path,
      upstreams: config.upstreams.map((u) => ({ name: u.name, url: u.url })),
      // Blob bodies by sendfile(2) (the @regcache/sendfile addon); false: streamed through Node.
      sendfile: sendfileAvailable() && config.tls === undefined,
      // Threads beside the main one replaying hot manifest answers (limits.frontThreads).
      frontThreads: server.frontThreads,
    },
    'regcache listening',
  );
  // After the ready line, so that a signal held during start-up logs its shutdown after it.
  signals.started(stop);
}

main().catch((error: unknown) => {
  // Commander has printed its message (or the help) already.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError) {
    process.stderr.write(`regcache: ${error.message}\n`);
    process.exit(2);
  }
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`regcache: cannot start: ${code ? `${code}: ` : ''}${message}\n`);
  process.exit(1);
});
