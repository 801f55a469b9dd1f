/**
 * The README's embedding example is the file examples/embed-in-http-service.mjs, verbatim;
 * this runs it as a real Node service and pulls a manifest through it next to its own route.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, seedImages, startRegistry, tempDir, type RunningRegistry, type TestImage } from '@regcache/testkit';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const example = `${root}examples/embed-in-http-service.mjs`;

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
      const manifest = await fetch(`http://127.0.0.1:${port}/v2/${image.name}/manifests/${image.tag}`, { headers: { accept: image.mediaType } });
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get('docker-content-digest')).toBe(image.digest);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 60_000);
});
