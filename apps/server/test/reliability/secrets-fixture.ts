/**
 * For the secrets test: random credentials (upstream passwords, a client password and client
 * tokens), the files and config that carry them into regcache the ways an operator would (env,
 * passwordFile, htpasswd, tokensFile), a record of everything regcache said, and the check
 * that none of it holds a secret — in plain text, Base64 (as a Basic header would carry it)
 * or percent-encoded — or any JWT (an upstream token).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked, tempDir } from '@regcache/testkit';

export interface Secrets {
  upstreamA: string;
  upstreamB: string;
  wrongUpstream: string;
  clientPassword: string;
  clientToken: string;
  envToken: string;
}

export function makeSecrets(): Secrets {
  const one = (label: string): string => `${label}-${randomBytes(12).toString('hex')}`;
  return { upstreamA: one('upa'), upstreamB: one('upb'), wrongUpstream: one('wrong'), clientPassword: one('alice'), clientToken: one('tok'), envToken: one('envtok') };
}

/** Every way a secret could show up in text. */
function forms(secret: string, users: readonly string[]): string[] {
  return [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret), ...users.map((u) => Buffer.from(`${u}:${secret}`).toString('base64'))];
}

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./;

export interface Capture {
  add(source: string, text: string): void;
  sources(): number;
  bytes(): number;
  /** Whether anything captured contains `text` (to show the capture holds what it should). */
  contains(text: string): boolean;
  /** `source: what leaked` for every secret (or JWT) found. */
  leaks(secrets: Secrets, users: readonly string[], extra: readonly string[]): string[];
}

export function createCapture(): Capture {
  const texts: Array<[string, string]> = [];
  return {
    add: (source, text) => void texts.push([source, text]),
    sources: () => texts.length,
    bytes: () => texts.reduce((sum, [, text]) => sum + text.length, 0),
    contains: (needle) => texts.some(([, text]) => text.includes(needle)),
    leaks(secrets, users, extra) {
      const needles = [...Object.values(secrets), ...extra].flatMap((s) => forms(s, users));
      const found: string[] = [];
      for (const [source, text] of texts) {
        for (const needle of needles) if (text.includes(needle)) found.push(`${source}: ${needle}`);
        if (JWT.test(text)) found.push(`${source}: a JWT`);
      }
      return found;
    },
  };
}

/** The htpasswd (bcrypt) for alice, the tokens file, the upstream B password file; returns their paths and alice's hash. */
export async function writeSecretFiles(secrets: Secrets): Promise<{ htpasswd: string; tokensFile: string; passwordFile: string; hash: string }> {
  const dir = await tempDir('secrets');
  const { stdout } = await runChecked('htpasswd', ['-nbB', '-C', '5', 'alice', secrets.clientPassword]);
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, stdout);
  const tokensFile = join(dir, 'tokens');
  await writeFile(tokensFile, `# CI tokens\n${secrets.clientToken}\n`);
  const passwordFile = join(dir, 'upstream-b-password');
  await writeFile(passwordFile, `${secrets.upstreamB}\n`);
  return { htpasswd, tokensFile, passwordFile, hash: stdout.trim().split(':')[1] ?? '' };
}

/** One admin API request over the unix socket: status line, headers and body, as text. */
export function adminCall(socketPath: string, method: string, path: string, body?: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = `${res.statusCode} ${JSON.stringify(res.headers)}\n`;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
