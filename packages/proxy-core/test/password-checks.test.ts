/**
 * Password checks never stall the server: bcrypt runs in slices with the event loop turning
 * between them, one check at a time with a bounded wait, the same credentials share one check,
 * and every answer is remembered. Counted through the `pause` hook: one pause per slice.
 */
import { describe, expect, it } from 'vitest';
import { bcryptHash, type BcryptHash } from '../src/bcrypt.js';
import { CredentialChecksBusyError } from '../src/errors.js';
import { createPasswordChecks, type PasswordChecksOptions } from '../src/password-checks.js';

const SALT = Buffer.alloc(16, 7);
/** Slices per check at a cost: 2^cost rounds, 16 to a slice. */
const slices = (cost: number): number => 2 ** cost / 16;

function entry(password: string, cost: number): BcryptHash {
  return { prefix: '2y', cost, salt: SALT, encoded: bcryptHash(password, '2y', cost, SALT) };
}

function counted(users: Record<string, BcryptHash>, opts: PasswordChecksOptions = {}): { checks: ReturnType<typeof createPasswordChecks>; pauses: () => number } {
  let pauses = 0;
  const pause = async (): Promise<void> => {
    pauses += 1;
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  return { checks: createPasswordChecks(new Map(Object.entries(users)), { pause, ...opts }), pauses: () => pauses };
}

describe('password checks', () => {
  it('answers right and wrong passwords, and remembers both answers', async () => {
    const { checks, pauses } = counted({ alice: entry('s3cret', 6) });
    expect(checks.known('alice', 's3cret')).toBeUndefined();
    expect(await checks.verify('alice', 's3cret')).toBe(true);
    expect(await checks.verify('alice', 'wrong')).toBe(false);
    expect(pauses()).toBe(2 * slices(6));
    // Asked again (a pull sends its credentials with every layer; a client retries a wrong one): no bcrypt.
    expect(await checks.verify('alice', 's3cret')).toBe(true);
    expect(await checks.verify('alice', 'wrong')).toBe(false);
    expect([checks.known('alice', 's3cret'), checks.known('alice', 'wrong')]).toEqual([true, false]);
    expect(pauses()).toBe(2 * slices(6));
  });

  it('lets the event loop turn while a check runs', async () => {
    const { checks } = counted({ alice: entry('s3cret', 8) });
    const order: string[] = [];
    const check = checks.verify('alice', 'wrong').then(() => order.push('check'));
    setTimeout(() => order.push('timer'), 0);
    await check;
    expect(order).toEqual(['timer', 'check']);
  });

  it('runs one check for the same credentials sent at once', async () => {
    const { checks, pauses } = counted({ alice: entry('s3cret', 6) });
    const answers = await Promise.all(Array.from({ length: 20 }, () => checks.verify('alice', 's3cret')));
    expect(answers).toEqual(Array(20).fill(true));
    expect(pauses()).toBe(slices(6));
  });

  it('runs checks one at a time and refuses at once beyond the waiting limit', async () => {
    const { checks, pauses } = counted({ alice: entry('s3cret', 6) }, { maxWaiting: 3 });
    const running = ['a', 'b', 'c'].map((p) => checks.verify('alice', p));
    await expect(checks.verify('alice', 'd')).rejects.toBeInstanceOf(CredentialChecksBusyError);
    // The same credentials as one waiting join it rather than count again.
    const joined = checks.verify('alice', 'a');
    expect(await Promise.all([...running, joined])).toEqual([false, false, false, false]);
    expect(pauses()).toBe(3 * slices(6));
    // The queue has drained: a new check is taken.
    expect(await checks.verify('alice', 'd')).toBe(false);
  });

  it('costs an unknown user what most entries cost, and refuses it even with a decoy-matching password', async () => {
    const { checks, pauses } = counted({ a: entry('x', 6), b: entry('y', 6), c: entry('z', 4) });
    expect(await checks.verify('mallory', 'x')).toBe(false);
    expect(pauses()).toBe(slices(6));
  });
});
