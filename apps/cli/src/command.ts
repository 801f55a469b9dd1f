/** A verb of `regcache-admin`: a subcommand with the global flags every verb takes. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { lacksUnit, parseDurationMs, parseSizeBytes } from '@regcache/proxy-core';

export function verb(program: Command, nameAndArgs: string, description: string): Command {
  return program
    .command(nameAndArgs)
    .description(description)
    .option('-c, --config <file>', 'the server config file (YAML or JSON): finds the store and the admin endpoint')
    // One or the other: with both, the config's admin endpoint would answer for its own store, not the one --data names.
    .addOption(new Option('-d, --data <dir>', 'the data directory (default ./data)').conflicts('config'))
    .option('--json', 'machine-readable output');
}

/** A size or an age on the command line needs its unit (lacksUnit): these flags tell gc what to delete. */
export function sizeArg(value: string): number {
  if (lacksUnit(value)) throw new InvalidArgumentError('give a unit (e.g. 50GiB, 512MB, 0B): a bare number would be read as bytes');
  const bytes = parseSizeBytes(value);
  if (bytes === undefined) throw new InvalidArgumentError('not a size (use e.g. 50GiB, 512MB)');
  return bytes;
}

export function ageArg(value: string): number {
  if (lacksUnit(value)) throw new InvalidArgumentError('give a unit (e.g. 30d, 12h): a bare number would be read as seconds');
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new InvalidArgumentError('not a duration (use e.g. 30d, 12h)');
  // "Unused for 0s" would be everything: an age is no way to empty the store (a budget of 0B is).
  if (ms <= 0) throw new InvalidArgumentError('must be longer than 0 (use e.g. 30d, 12h; to evict everything not in use, --max-size 0B)');
  return ms;
}

export function countArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('not a positive whole number');
  return n;
}
