/**
 * The server on HTTPS: a test CA and a server certificate for IP 127.0.0.1 made with
 * openssl, `tls.cert`/`tls.key` in the config file, and skopeo pulling with the CA in
 * `--src-cert-dir` and verification on. Without the CA skopeo refuses the certificate, so
 * the TLS is real. Keep-alive is announced for pulls of many layers on one connection.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { request, Agent } from 'node:https';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked, seedImages, skopeoPull, startRegistry, tempDir, type RunningRegistry, type TestImage } from '@regcache/testkit';
import { runServer, runToExit, type ServerProcess } from './spawn.js';

interface TestPki {
  /** Holds only ca.crt: what skopeo's --src-cert-dir reads as trusted roots. */
  caDir: string;
  caPem: string;
  cert: string;
  key: string;
}

const openssl = (...args: string[]) => runChecked('openssl', args);

/** A CA, and a server certificate it signed for IP 127.0.0.1 (P-256 keys: fast to make). */
async function makePki(): Promise<TestPki> {
  const dir = await tempDir('tls-pki');
  const caDir = await tempDir('tls-ca');
  const at = (name: string): string => join(dir, name);
  const caCert = join(caDir, 'ca.crt');
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const caExtensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await openssl('req', '-x509', ...newKey, '-keyout', at('ca.key'), '-out', caCert, '-days', '2', '-subj', '/CN=regcache test CA', ...caExtensions);
  await openssl('req', ...newKey, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
  await writeFile(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  const sign = ['-CA', caCert, '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', at('ext.cnf')];
  await openssl('x509', '-req', '-in', at('server.csr'), '-out', at('server.crt'), ...sign);
  return { caDir, caPem: await readFile(caCert, 'utf8'), cert: at('server.crt'), key: at('server.key') };
}

/** GET over HTTPS trusting only the test CA; reports whether the socket was reused. */
function httpsGet(agent: Agent, address: string, path: string): Promise<{ status: number; keepAlive: string | undefined; reused: boolean }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, keepAlive: res.headers['keep-alive']?.toString(), reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET over HTTPS: the status, the body's digest, and X-Regcache-Cache. */
function httpsBody(agent: Agent, address: string, path: string): Promise<{ status: number; digest: string; cache: string | undefined }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, agent }, (res) => {
      const hash = createHash('sha256');
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, digest: `sha256:${hash.digest('hex')}`, cache: res.headers['x-regcache-cache']?.toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the server over HTTPS', () => {
  let upstream: RunningRegistry;
  let image: TestImage;
  let pki: TestPki;
  let server: ServerProcess;
  let dataDir: string;

  beforeAll(async () => {
    [upstream, pki] = await Promise.all([startRegistry(), makePki()]);
    image = (await seedImages(upstream, { prefix: 'tls' })).oci;
    const dir = await tempDir('tls-config');
    const config = join(dir, 'regcache.yaml');
    await writeFile(config, `upstreams:\n  - name: docker.io\n    url: ${upstream.url}\ntls:\n  cert: ${pki.cert}\n  key: ${pki.key}\n`);
    dataDir = await tempDir('tls-data');
    server = await runServer(['--config', config, '--listen', '127.0.0.1:0', '--data', dataDir]);
  }, 120_000);

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await upstream?.stop();
  });

  it('serves a verified skopeo pull with the test CA in --src-cert-dir', async () => {
    const pulled = await skopeoPull(`${server.address}/${image.name}:${image.tag}`, { tls: true, certDir: pki.caDir });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(image.digest);
    for (const blob of image.blobs) expect(pulled.blobDigests).toContain(blob.digest);
  }, 60_000);

  it('is refused by skopeo that does not trust the CA', async () => {
    const pulled = await skopeoPull(`${server.address}/${image.name}:${image.tag}`, { tls: true });
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toMatch(/certificate/i);
  }, 60_000);

  it('answers plain HTTP on its port with a 400 saying to use https, and logs it', async () => {
    const res = await fetch(`http://${server.address}/v2/`);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('regcache: this port speaks HTTPS, and the request came in plain HTTP: use https://\n');
    await expect.poll(() => server.lines.find((l) => String(l.msg).startsWith('plain HTTP request on the HTTPS listener'))).toMatchObject({ level: 40, remote: '127.0.0.1' });
    // The listener is unharmed.
    const agent = new Agent({ ca: pki.caPem });
    expect((await httpsGet(agent, server.address, '/v2/')).status).toBe(200);
    agent.destroy();
  });

  it('keeps connections alive across requests', async () => {
    const agent = new Agent({ keepAlive: true, ca: pki.caPem, maxSockets: 1 });
    try {
      const first = await httpsGet(agent, server.address, '/v2/');
      const second = await httpsGet(agent, server.address, `/v2/${image.name}/manifests/${image.digest}`);
      expect(first).toMatchObject({ status: 200, keepAlive: 'timeout=75', reused: false });
      expect(second).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('fetches again a stored blob whose file was cut or deleted outside regcache (the stream path: no sendfile over TLS)', async () => {
    const agent = new Agent({ keepAlive: true, ca: pki.caPem, maxSockets: 1 });
    try {
      const layer = image.blobs[image.blobs.length - 1];
      if (layer === undefined) throw new Error('no layer');
      const path = `/v2/${image.name}/blobs/${layer.digest}`;
      const file = join(dataDir, 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7));
      // Stored by the pull above; a hit now also keeps its file open.
      expect(await httpsBody(agent, server.address, path)).toEqual({ status: 200, digest: layer.digest, cache: 'hit' });
      await truncate(file, 10);
      expect(await httpsBody(agent, server.address, path)).toEqual({ status: 200, digest: layer.digest, cache: 'miss' });
      // Stored whole again — committed and indexed, not only renamed into place — before the next damage.
      await expect.poll(() => httpsBody(agent, server.address, path), { timeout: 10_000 }).toEqual({ status: 200, digest: layer.digest, cache: 'hit' });
      await rm(file);
      expect(await httpsBody(agent, server.address, path)).toEqual({ status: 200, digest: layer.digest, cache: 'miss' });
    } finally {
      agent.destroy();
    }
  });

  it('refuses to start with an unreadable certificate, naming the key', async () => {
    const dir = await tempDir('tls-bad');
    const config = join(dir, 'regcache.yaml');
    await writeFile(config, `tls:\n  cert: ${join(dir, 'missing.crt')}\n  key: ${pki.key}\n`);
    const result = await runToExit(['--config', config, '--listen', '127.0.0.1:0', '--data', await tempDir('tls-bad-data')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('tls.cert');
  });

  it('refuses a key of another certificate, and a swapped pair, naming the key', async () => {
    const otherKey = join(dirname(pki.key), 'ca.key');
    for (const [cert, key, expected] of [
      [pki.cert, otherKey, `tls.key: ${otherKey} is not the key of the certificate in ${pki.cert}`],
      [pki.key, pki.cert, `tls.cert: ${pki.key} holds no PEM certificate`],
      [pki.cert, pki.cert, `tls.key: ${pki.cert} holds no unencrypted PEM private key`],
    ] as const) {
      const dir = await tempDir('tls-bad');
      const config = join(dir, 'regcache.yaml');
      await writeFile(config, `tls:\n  cert: ${cert}\n  key: ${key}\n`);
      const result = await runToExit(['--config', config, '--listen', '127.0.0.1:0', '--data', await tempDir('tls-bad-data')]);
      expect(result.code, expected).toBe(2);
      expect(result.stderr).toContain(expected);
    }
  });
});
