/**
 * `regcache-admin`: the operator's CLI. Every verb finds the store and the running server
 * from the same config the server uses (`--config FILE` or `--data DIR`), talks to the
 * server's admin API when one is running and opens the store directly when none is, and
 * exits non-zero with a clear message on bad arguments or failures.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '@regcache/proxy-core';
import { withTarget, type GlobalFlags } from './target.js';
import { formatStats, statsReport } from './verbs/stats.js';

function withGlobals(command: Command): Command {
  return command
    .option('-c, --config <file>', 'the server config file (YAML or JSON)')
    .option('-d, --data <dir>', 'the data directory (default ./data)')
    .option('--json', 'machine-readable output');
}

const program = new Command('regcache-admin').description('Administer a regcache store').exitOverride().showHelpAfterError();

withGlobals(program.command('stats').description('size, counts, hits and misses, per upstream and in total')).action(async (flags: GlobalFlags) => {
  const report = await withTarget(flags, statsReport);
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatStats(report));
});

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError) {
    process.stderr.write(`regcache-admin: ${error.message}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`regcache-admin: ${message}\n`);
  process.exit(1);
});
