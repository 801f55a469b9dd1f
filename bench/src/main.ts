/**
 * `npm run bench` — issue 6's benchmark harness: regcache against Debian's docker-registry in
 * proxy mode, nginx proxy_cache and direct access to the upstream, measured in the same run.
 *
 * Why TypeScript built with tsup (bench/tsup.config.ts) rather than plain .mjs: it reuses the
 * testkit's real parts (docker-registry with a countable access log, v2 push, skopeo, child
 * processes that die with the bench) from their TypeScript sources through the
 * `@regcache/source` condition, and it is type-checked like the rest of the repo. bench/ is not
 * an npm workspace (no package.json), so adding it changed no lock file; it needs nothing that
 * the root devDependencies do not already have.
 *
 * Everything listens on 127.0.0.1; everything started is stopped on success, on error and on
 * Ctrl-C (the testkit's exit hooks SIGKILL children and remove temp dirs).
 * Usage: npm run bench -- [--rounds 3] [--duration 5] [--targets …] [--profile]; see options.ts.
 */
import { log } from './log.js';
import { HelpRequested, parseOptions } from './options.js';
import { checkPrerequisites } from './prerequisites.js';
import { runBench } from './bench.js';
import { runProfile } from './profile/run.js';

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const tools = await checkPrerequisites(options.serverMain);
  if (options.profile) {
    await runProfile(options, tools);
    return 0;
  }
  const clean = await runBench(options, tools);
  if (!clean) log('some rows failed: see "Failed rows" in the report');
  return clean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${error.message}\n`);
      process.exit(0);
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
