/**
 * A minimal ustar writer: 512-byte headers with checksums, content padded to 512, two zero
 * blocks at the end. Parent directories are added as their own entries, as in real layers.
 */
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

const gzipAsync = promisify(gzip);
const BLOCK = 512;
/** Fixed mtime (2024-01-01) so equal content gives equal layer digests. */
const MTIME = 1_704_067_200;

interface TarEntry {
  path: string;
  type: 'file' | 'dir';
  content: Buffer;
}

function writeString(header: Buffer, value: string, offset: number, length: number): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: "${value}" does not fit in ${length} bytes`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  // length-1 octal digits, zero padded, then NUL
  writeString(header, value.toString(8).padStart(length - 1, '0'), offset, length - 1);
}

/** Splits a path into ustar name (≤100 bytes) and prefix (≤155 bytes). */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  const cut = path.lastIndexOf('/', path.length - 2);
  const name = path.slice(cut + 1);
  const prefix = path.slice(0, cut);
  if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
    throw new Error(`tar: path too long for ustar: ${path}`);
  }
  return { name, prefix };
}

function header(entry: TarEntry): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { name, prefix } = splitName(entry.path);
  writeString(block, name, 0, 100);
  writeOctal(block, entry.type === 'dir' ? 0o755 : 0o644, 100, 8);
  writeOctal(block, 0, 108, 8); // uid
  writeOctal(block, 0, 116, 8); // gid
  writeOctal(block, entry.content.length, 124, 12);
  writeOctal(block, MTIME, 136, 12);
  block.fill(0x20, 148, 156); // checksum field counts as spaces
  writeString(block, entry.type === 'dir' ? '5' : '0', 156, 1);
  writeString(block, 'ustar\0', 257, 6);
  writeString(block, '00', 263, 2);
  writeString(block, 'root', 265, 32);
  writeString(block, 'root', 297, 32);
  writeOctal(block, 0, 329, 8); // devmajor
  writeOctal(block, 0, 337, 8); // devminor
  writeString(block, prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

function normalise(path: string): string {
  const clean = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (clean === '' || clean.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new Error(`tar: bad path "${path}"`);
  }
  return clean;
}

function entriesOf(files: Record<string, string | Buffer>): TarEntry[] {
  const dirs = new Set<string>();
  const entries: TarEntry[] = [];
  for (const path of Object.keys(files).map(normalise).sort()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i += 1) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const dir of [...dirs].sort()) entries.push({ path: `${dir}/`, type: 'dir', content: Buffer.alloc(0) });
  for (const [raw, value] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    entries.push({ path: normalise(raw), type: 'file', content: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });
  }
  return entries;
}

/** An uncompressed ustar archive of the files (paths relative, '/'-separated). */
export function makeTar(files: Record<string, string | Buffer>): Buffer {
  const chunks: Buffer[] = [];
  for (const entry of entriesOf(files)) {
    chunks.push(header(entry), entry.content);
    const padding = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
    if (padding > 0) chunks.push(Buffer.alloc(padding));
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}

/** A real ustar layer of the files, gzip'd unless opts.gzip is false. */
export async function makeTarLayer(files: Record<string, string | Buffer>, opts: { gzip?: boolean } = {}): Promise<Buffer> {
  const tar = makeTar(files);
  return opts.gzip === false ? tar : gzipAsync(tar);
}
