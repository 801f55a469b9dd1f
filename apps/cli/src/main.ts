/**
 * `regcache-admin`: the operator's CLI. Every verb finds the store and the running server
 * from the same config the server uses (`--config FILE` or `--data DIR`), talks to the
 * server's admin API when one is running and opens the store directly when none is, and
 * exits non-zero with a clear message on bad arguments (2) or failures (1).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, OperationInputError } from '@regcache/proxy-core';
import { CliError } from './errors.js';
import { registerExpire } from './verbs/expire.js';
import { registerGc } from './verbs/gc.js';
import { registerLs } from './verbs/ls.js';
import { registerRm } from './verbs/rm.js';
import { registerStats } from './verbs/stats.js';
import { registerUpstreams } from './verbs/upstreams.js';
import { registerVerify } from './verbs/verify.js';
import { registerWarm } from './verbs/warm.js';

/** This package's version (dist/main.js → ../package.json, shipped with every install). */
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const program = new Command('regcache-admin')
  .description('Administer a regcache store: through the running server, or directly when none runs')
  .version(version, '-V, --version', 'print the version and exit')
  .exitOverride()
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(`regcache-admin: ${text.replace(/^error: /, '')}`) });

registerStats(program);
registerGc(program);
registerVerify(program);
registerLs(program);
registerWarm(program);
registerRm(program);
registerExpire(program);
registerUpstreams(program);

function fail(message: string, code: number): never {
  process.stderr.write(`regcache-admin: ${message}\n`);
  process.exit(code);
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError) fail(error.message, 2);
  if (error instanceof OperationInputError) fail(error.message, 2);
  if (error instanceof CliError) fail(error.message, error.exitCode);
  const code = (error as NodeJS.ErrnoException).code;
  fail(`${code ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`, 1);
});
