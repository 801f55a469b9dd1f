/**
 * The README's embedding example is the file examples/embed-in-http-service.mjs, verbatim;
 * this runs it as a real Node service and pulls a manifest through it next to its own route.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, seedImages, startRegistry, tempDir, type RunningRegistry, type TestImage } from '@regcache/testkit';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const example = `${root}examples/embed-in-http-service.mjs`;

/** Writes `request` in one write (and keeps its side open) and reads the connection to its end. */
async function rawExchange(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(request, 'latin1'); // not end(): node:http aborts what a half-closed client asked
  await closed;
  return Buffer.concat(chunks).toString('latin1');
}

describe('the embedding example', () => {
  let upstream: RunningRegistry;
  let image: TestImage;
  beforeAll(async () => {
    upstream = await startRegistry();
    image = (await seedImages(upstream, { prefix: 'embed' })).docker;
  }, 120_000);
  afterAll(async () => upstream?.stop());

  it('is in the README verbatim', async () => {
    const [readme, code] = await Promise.all([readFile(`${root}README.md`, 'utf8'), readFile(example, 'utf8')]);
    const block = /<!-- embed-example:start -->\n```js\n([\s\S]*?)```\n<!-- embed-example:end -->/.exec(readme)?.[1];
    expect(block).toBe(code);
  });

  it('runs as a service with its own route and the registry API', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [example], {
      cwd: root,
      env: { ...process.env, PORT: String(port), UPSTREAM_URL: upstream.url, DATA_DIR: await tempDir('regcache-embed-') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(child.stdout!, 'data');
      const own = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(await own.text()).toBe('my service is fine\n');
      // answerClientErrors: bytes after a `Connection: close` request (a cold manifest: its answer is not immediate) do not turn its answer into a 400.
      const head = `GET /v2/${image.name}/manifests/${image.tag} HTTP/1.1\r\nHost: x\r\nAccept: ${image.mediaType}\r\nConnection: close\r\n\r\n`;
      const raw = await rawExchange(port, `${head}GET /healthz HTTP/1.1\r\n\r\n`);
      expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(raw.toLowerCase()).toContain(`docker-content-digest: ${image.digest}`);
      const manifest = await fetch(`http://127.0.0.1:${port}/v2/${image.name}/manifests/${image.tag}`, { headers: { accept: image.mediaType } });
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get('docker-content-digest')).toBe(image.digest);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 60_000);
});
