/**
 * skopeoPull(): copies docker://REF into a fresh `dir:` (or `oci:`) directory and re-hashes
 * every file skopeo wrote, so a test knows the bytes that came through are the right ones.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256, sha256File } from './digest.js';
import { dockerRef, skopeo } from './skopeo.js';
import { tempDir } from './tmp.js';

export interface SkopeoPullOptions {
  /** --all: copy every platform of an index. */
  all?: boolean;
  /** --src-creds user:password */
  creds?: string;
  /** --src-cert-dir (a dir with ca.crt etc.) */
  certDir?: string;
  /** true: https with verification (no --src-tls-verify=false). */
  tls?: boolean;
  /** Destination transport (default 'dir'). */
  format?: 'dir' | 'oci';
  timeoutMs?: number;
}

export interface SkopeoPullResult {
  code: number;
  stderr: string;
  dir: string;
  /** sha256 of the top-level manifest skopeo wrote (the index for --all of an index). */
  manifestDigest?: string;
  /** Every blob file written (dir: layers and configs; oci: every blob incl. manifests), each re-hashed and checked against its name. */
  blobDigests: string[];
  /** dir: the per-platform manifests written for --all (`<hex>.manifest.json`). */
  instanceDigests: string[];
}

const HEX64 = /^[a-f0-9]{64}$/;

async function checkedDigest(path: string, expectedHex: string): Promise<string> {
  const actual = await sha256File(path);
  if (actual !== `sha256:${expectedHex}`) throw new Error(`skopeoPull: ${path} hashes to ${actual}`);
  return actual;
}

async function scanDir(dir: string): Promise<Pick<SkopeoPullResult, 'manifestDigest' | 'blobDigests' | 'instanceDigests'>> {
  const names = (await readdir(dir)).sort();
  const blobDigests: string[] = [];
  const instanceDigests: string[] = [];
  for (const name of names) {
    if (HEX64.test(name)) blobDigests.push(await checkedDigest(join(dir, name), name));
    const instance = /^([a-f0-9]{64})\.manifest\.json$/.exec(name);
    if (instance?.[1] !== undefined) instanceDigests.push(await checkedDigest(join(dir, name), instance[1]));
  }
  const manifestDigest = names.includes('manifest.json') ? sha256(await readFile(join(dir, 'manifest.json'))) : undefined;
  return { manifestDigest, blobDigests, instanceDigests };
}

async function scanOci(dir: string): Promise<Pick<SkopeoPullResult, 'manifestDigest' | 'blobDigests' | 'instanceDigests'>> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  const blobDigests: string[] = [];
  for (const name of (await readdir(blobsDir)).sort()) blobDigests.push(await checkedDigest(join(blobsDir, name), name));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Array<{ digest?: string }> };
  return { manifestDigest: index.manifests?.[0]?.digest, blobDigests, instanceDigests: [] };
}

function pullArgs(srcRef: string, dest: string, opts: SkopeoPullOptions): string[] {
  const args = ['copy', '--retry-times', '0'];
  if (opts.all === true) args.push('--all');
  if (opts.tls !== true) args.push('--src-tls-verify=false');
  if (opts.creds !== undefined) args.push('--src-creds', opts.creds);
  if (opts.certDir !== undefined) args.push('--src-cert-dir', opts.certDir);
  args.push(dockerRef(srcRef), dest);
  return args;
}

/** Pulls srcRef (`host:port/name:tag` or `…@sha256:…`, docker:// optional) with skopeo; never throws on skopeo failure. */
export async function skopeoPull(srcRef: string, opts: SkopeoPullOptions = {}): Promise<SkopeoPullResult> {
  const format = opts.format ?? 'dir';
  const dir = await tempDir('skopeo-pull');
  const dest = format === 'dir' ? `dir:${dir}` : `oci:${dir}:pulled`;
  const result = await skopeo(pullArgs(srcRef, dest, opts), { timeoutMs: opts.timeoutMs });
  if (result.code !== 0) return { code: result.code, stderr: result.stderr, dir, blobDigests: [], instanceDigests: [] };
  const scanned = format === 'dir' ? await scanDir(dir) : await scanOci(dir);
  return { code: result.code, stderr: result.stderr, dir, ...scanned };
}
