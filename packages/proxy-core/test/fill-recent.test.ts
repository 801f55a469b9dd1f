import { describe, expect, it } from 'vitest';
import { createRecentBytes } from '../src/fill/recent.js';

describe('the window of recent fill bytes', () => {
  it('serves slices without copying while they are in the window, then forgets the oldest', () => {
    const recent = createRecentBytes(8);
    const a = Buffer.from('abcd');
    recent.add(a);
    recent.add(Buffer.from('efgh'));
    expect(recent.slice(2, 10)?.toString()).toBe('cd');
    expect(recent.slice(2, 10)?.buffer).toBe(a.buffer);
    expect(recent.slice(5, 2)?.toString()).toBe('fg');
    recent.add(Buffer.from('ijkl'));
    expect(recent.slice(0, 4)).toBeUndefined();
    expect(recent.slice(4, 4)?.toString()).toBe('efgh');
    expect(recent.slice(12, 4)).toBeUndefined();
  });
});
