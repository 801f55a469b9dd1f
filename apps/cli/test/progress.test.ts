/** The progress display: a redrawn bar on a terminal, a plain line per tenth of the way otherwise. */
import { describe, expect, it } from 'vitest';
import { createProgress, withProgress } from '../src/progress.js';

function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = { isTTY, write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe('createProgress', () => {
  it('redraws one bar in place on a terminal and ends it with a newline', () => {
    const out = sink(true);
    const progress = createProgress('gc', out.stream);
    for (let done = 1; done <= 4; done++) progress.update({ done, total: 4, bytes: done * 1024 });
    progress.finish();
    const frames = out.text().split('\r').filter(Boolean);
    expect(frames).toHaveLength(4);
    expect(frames[3]).toContain('[##############################] 100%  gc  4/4  4.0 KiB');
    expect(out.text().endsWith('\n')).toBe(true);
    expect(out.text().match(/\n/g)).toHaveLength(1);
  });

  it('writes plain lines, one per tenth, when not on a terminal', () => {
    const out = sink(false);
    const progress = createProgress('verify', out.stream);
    for (let done = 1; done <= 100; done++) progress.update({ done, total: 100 });
    progress.finish();
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toBe('verify  100/100 (100%)');
    expect(out.text()).not.toContain('\r');
  });

  it('ends the bar when the operation fails midway, so what is printed next starts on a line of its own', async () => {
    const out = sink(true);
    const failing = withProgress('gc: removing', async (progress) => {
      progress.update({ done: 1, total: 6, bytes: 561 });
      throw new Error('the server failed: disk on fire');
    }, out.stream);
    await expect(failing).rejects.toThrow('disk on fire');
    expect(out.text()).toContain('gc: removing  1/6  561 B');
    expect(out.text().endsWith('\n')).toBe(true);
  });
});
