import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeTarLayer, runCommand, sha256, tempDir } from '../src/index.js';

describe('makeTarLayer', () => {
  it('writes a gzip’d ustar archive that tar -tzf lists, parents first', async () => {
    const longPath = `${'deep/'.repeat(25)}file.txt`;
    const layer = await makeTarLayer({ 'etc/hello.txt': 'hello\n', 'bin/tool': Buffer.alloc(1500, 1), [longPath]: 'long' });
    expect(layer.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const dir = await tempDir('tar-test');
    const file = join(dir, 'layer.tar.gz');
    await writeFile(file, layer);
    const listed = await runCommand('tar', ['-tzf', file]);
    expect(listed.code, listed.stderr).toBe(0);
    const names = listed.stdout.trim().split('\n');
    expect(names).toContain('etc/');
    expect(names).toContain('etc/hello.txt');
    expect(names).toContain('bin/tool');
    expect(names).toContain(longPath);
    expect(names.indexOf('etc/')).toBeLessThan(names.indexOf('etc/hello.txt'));
    const content = await runCommand('tar', ['-xzOf', file, 'etc/hello.txt']);
    expect(content.stdout).toBe('hello\n');
  });

  it('writes a plain tar with gzip: false, 512-byte aligned with two zero blocks', async () => {
    const tar = await makeTarLayer({ 'a.txt': 'a' }, { gzip: false });
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);
    const dir = await tempDir('tar-test');
    await writeFile(join(dir, 'plain.tar'), tar);
    const listed = await runCommand('tar', ['-tvf', join(dir, 'plain.tar')]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/a\.txt/);
  });

  it('is deterministic for equal content and differs otherwise', async () => {
    const a = await makeTarLayer({ 'x': '1' });
    const b = await makeTarLayer({ 'x': '1' });
    const c = await makeTarLayer({ 'x': '2' });
    expect(sha256(a)).toBe(sha256(b));
    expect(sha256(a)).not.toBe(sha256(c));
    expect(sha256(gunzipSync(a))).toMatch(/^sha256:[a-f0-9]{64}$/);
  });
});
