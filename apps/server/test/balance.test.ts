/**
 * Placing connections (src/front/balance.ts): a thread keeps what it accepts until it serves two
 * more than the least loaded thread, then passes to that one; a thread that does not serve (a
 * front not yet listening, or ended) is never chosen; closes and hand-overs move the counts.
 */
import { describe, expect, it } from 'vitest';
import { createBalance, createLoads, stopServing } from '../src/front/balance.js';

describe('connection balance', () => {
  it('spreads a burst accepted by one thread over every serving thread, to within the slack', () => {
    const loads = createLoads(3);
    const main = createBalance(loads, 0);
    // Fronts 1 and 2 not listening yet: the main thread keeps everything.
    expect(Array.from({ length: 4 }, () => main.place())).toEqual([0, 0, 0, 0]);
    createBalance(loads, 1).serving();
    createBalance(loads, 2).serving();
    const placed = Array.from({ length: 28 }, () => main.place());
    expect(Array.from(loads)).toEqual([12, 10, 10]);
    expect(placed.filter((to) => to === 0)).toHaveLength(8);
  });

  it('counts closes and hand-overs, and never places with a thread that stopped serving', () => {
    const loads = createLoads(2);
    const main = createBalance(loads, 0);
    const front = createBalance(loads, 1);
    front.serving();
    for (let i = 0; i < 3; i++) front.adopted();
    expect(main.place()).toBe(0);
    front.closed();
    front.closed(0); // one placed with the main thread that never got there
    expect(Array.from(loads)).toEqual([0, 2]);
    expect(front.place()).toBe(0);
    stopServing(loads, 0);
    expect(Array.from({ length: 5 }, () => front.place())).toEqual([1, 1, 1, 1, 1]);
  });
});
