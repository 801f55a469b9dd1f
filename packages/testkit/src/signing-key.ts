/**
 * The token signing key and its self-signed certificate (made with `openssl req -x509`),
 * plus JWT signing in the two forms distribution 2.8 accepts: header `x5c` (the
 * certificate) or `kid` (the libtrust key ID of the public key).
 */
import { createHash, createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './process.js';
import { tempDir } from './tmp.js';

export type JwtAlgorithm = 'RS256' | 'ES256';

export interface SigningKey {
  readonly alg: JwtAlgorithm;
  readonly certPem: string;
  readonly privateKey: KeyObject;
  /** base64 DER of the certificate, for the JWT `x5c` header. */
  readonly certDerBase64: string;
  /** libtrust key ID of the public key, for the JWT `kid` header. */
  readonly kid: string;
}

const cache = new Map<JwtAlgorithm, Promise<SigningKey>>();

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** libtrust KeyID: base32 of the first 240 bits of sha256(DER SPKI), 12 groups of 4 joined by ':'. */
export function libtrustKeyId(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(spki).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)?.join(':') ?? encoded;
}

async function generate(alg: JwtAlgorithm): Promise<SigningKey> {
  const dir = await tempDir('token-key');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const keyArgs = alg === 'RS256' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  await runChecked('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-sha256', '-days', '2', '-subj', '/CN=regcache-testkit-token-signer', '-keyout', keyPath, '-out', certPath]);
  const certPem = await readFile(certPath, 'utf8');
  const cert = new X509Certificate(certPem);
  return {
    alg,
    certPem,
    privateKey: createPrivateKey(await readFile(keyPath, 'utf8')),
    certDerBase64: cert.raw.toString('base64'),
    kid: libtrustKeyId(cert),
  };
}

/** One key per algorithm per process (openssl runs once). */
export function signingKey(alg: JwtAlgorithm): Promise<SigningKey> {
  let key = cache.get(alg);
  if (key === undefined) {
    key = generate(alg);
    cache.set(alg, key);
  }
  return key;
}

function b64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/** A compact JWS: header carries `x5c` or `kid`; ES256 signatures are raw r||s as JOSE wants. */
export function signJwt(key: SigningKey, claims: object, keyHint: 'x5c' | 'kid' = 'x5c'): string {
  const header = keyHint === 'x5c' ? { typ: 'JWT', alg: key.alg, x5c: [key.certDerBase64] } : { typ: 'JWT', alg: key.alg, kid: key.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature =
    key.alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key.privateKey)
      : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}
