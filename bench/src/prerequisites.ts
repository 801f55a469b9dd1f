/**
 * The harness installs nothing: it finds the tools it drives on PATH (plus /usr/sbin and /sbin,
 * where Debian puts nginx) and stops with one clear message naming what is missing.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export interface Tools {
  nginx: string;
  wrk: string;
  ab: string;
  dockerRegistry: string;
  skopeo: string;
}

const PACKAGES: Record<keyof Tools, { binary: string; debian: string }> = {
  nginx: { binary: 'nginx', debian: 'nginx' },
  wrk: { binary: 'wrk', debian: 'wrk' },
  ab: { binary: 'ab', debian: 'apache2-utils' },
  dockerRegistry: { binary: 'docker-registry', debian: 'docker-registry' },
  skopeo: { binary: 'skopeo', debian: 'skopeo' },
};

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of an executable, or undefined. */
export async function findBinary(name: string): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Finds every tool and the built server; throws one message listing everything missing. */
export async function checkPrerequisites(serverMain: string): Promise<Tools> {
  const found: Partial<Record<keyof Tools, string>> = {};
  const missing: string[] = [];
  for (const key of Object.keys(PACKAGES) as Array<keyof Tools>) {
    const { binary, debian } = PACKAGES[key];
    const path = await findBinary(binary);
    if (path === undefined) missing.push(`  ${binary} (Debian package ${debian})`);
    else found[key] = path;
  }
  if (!(await readable(serverMain))) {
    missing.push(`  the built regcache server ${serverMain} (run npm run build)`);
  }
  if (missing.length > 0) {
    const debs = [...new Set(Object.values(PACKAGES).map((p) => p.debian))].join(' ');
    throw new Error(`bench: missing prerequisites:\n${missing.join('\n')}\nInstall them with: apt-get update && apt-get install -y ${debs}`);
  }
  return found as Tools;
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
