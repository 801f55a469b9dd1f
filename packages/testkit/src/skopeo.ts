/**
 * skopeo (Debian 1.9.3) runs with a kit-owned policy (insecureAcceptAnything) and an empty
 * auth file, so nothing from the host's containers/ or docker config leaks into tests.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './process.js';
import { tempDir } from './tmp.js';

interface SkopeoEnv {
  policyPath: string;
  authFile: string;
}

let envPromise: Promise<SkopeoEnv> | undefined;

async function makeEnv(): Promise<SkopeoEnv> {
  const dir = await tempDir('skopeo-config');
  const policyPath = join(dir, 'policy.json');
  const authFile = join(dir, 'auth.json');
  await writeFile(policyPath, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(authFile, JSON.stringify({ auths: {} }));
  return { policyPath, authFile };
}

function skopeoEnv(): Promise<SkopeoEnv> {
  envPromise ??= makeEnv();
  return envPromise;
}

/**
 * Runs `skopeo --policy <kit policy> ...args`; never throws on a non-zero exit
 * (code 124 on timeout, default 120 s; 127 when skopeo cannot be started).
 */
export async function skopeo(args: string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
  const { policyPath, authFile } = await skopeoEnv();
  const env = { ...process.env, REGISTRY_AUTH_FILE: authFile };
  return runCommand('skopeo', ['--policy', policyPath, ...args], { timeoutMs: opts.timeoutMs ?? 120_000, env });
}

/** `docker://` prefixed reference. */
export function dockerRef(ref: string): string {
  return ref.startsWith('docker://') ? ref : `docker://${ref}`;
}
