import { describe, expect, it } from 'vitest';
import { createChunkedDecoder } from '../src/upstream/chunked.js';
import { PlainGetProtocolError } from '../src/upstream/plain-head.js';

const WIRE = Buffer.from('5;name=value\r\nhello\r\n1A\r\n' + 'x'.repeat(26) + '\r\n0\r\nX-Trailer: yes\r\n\r\n', 'latin1');
const DATA = 'hello' + 'x'.repeat(26);

function decode(parts: Buffer[]): { data: string; done: boolean } {
  const decoder = createChunkedDecoder();
  const data = parts.flatMap((part) => decoder.feed(part)).map((b) => b.toString('latin1')).join('');
  return { data, done: decoder.done() };
}

describe('the chunked body decoder', () => {
  it('decodes a body with extensions and trailers, however the bytes are split', () => {
    expect(decode([WIRE])).toEqual({ data: DATA, done: true });
    for (let cut = 1; cut < WIRE.length; cut++) {
      expect(decode([WIRE.subarray(0, cut), WIRE.subarray(cut)]), `cut at ${cut}`).toEqual({ data: DATA, done: true });
    }
    const bytes = [...WIRE].map((b) => Buffer.from([b]));
    expect(decode(bytes)).toEqual({ data: DATA, done: true });
  });

  it('returns views into the bytes it was fed, not copies', () => {
    const decoder = createChunkedDecoder();
    const [piece] = decoder.feed(WIRE);
    expect(piece?.buffer).toBe(WIRE.buffer);
  });

  it('is not done before the last chunk and its blank line', () => {
    expect(decode([WIRE.subarray(0, WIRE.length - 2)]).done).toBe(false);
  });

  it.each([
    ['a size that is not hex', 'zz\r\n'],
    ['data longer than its size', '2\r\nabc\r\n0\r\n\r\n'],
    ['a bare LF after the size', '2\nab\r\n'],
    ['a size line without end', '1'.repeat(5000)],
  ])('refuses %s', (_name, wire) => {
    expect(() => decode([Buffer.from(wire, 'latin1')])).toThrow(PlainGetProtocolError);
  });
});
