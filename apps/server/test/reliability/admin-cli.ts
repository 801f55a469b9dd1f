/** The built `regcache-admin` (apps/cli; the server's tests build it first), run to completion. */
import { fileURLToPath } from 'node:url';
import { runCommand } from '@regcache/testkit';

export const CLI = fileURLToPath(new URL('../../../cli/bin/regcache-admin.js', import.meta.url));

/** `regcache-admin ARGS`: exit code, stdout and stderr as one text. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; text: string }> {
  const result = await runCommand(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
  return { code: result.code, text: `${result.stdout}\n${result.stderr}` };
}
