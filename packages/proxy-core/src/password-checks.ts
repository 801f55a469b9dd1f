/**
 * Checking htpasswd passwords without letting bcrypt stall the server.
 *
 * bcrypt is slow on purpose (half a second of CPU at cost 12, in regcache's JavaScript one), and
 * it runs on the thread that answers every request. So:
 *  - a check runs in slices (`bcryptVerifySliced`), yielding to the event loop between them:
 *    other requests, health checks included, wait a slice at most, not the whole check;
 *  - one check runs at a time, and at most `maxWaiting` distinct ones wait behind it; beyond
 *    that a request is refused at once (`CredentialChecksBusyError`, 429) rather than queued
 *    for seconds — a flood of wrong passwords costs at most one core's share, never a backlog;
 *  - the same credentials checked at once (fifty runners logging in together) share one check;
 *  - every result, pass or fail, is remembered for a while, keyed by an HMAC under a key of
 *    this instance: a pull sends its credentials with every layer, and a client retrying a wrong
 *    password must not cost bcrypt each time. The htpasswd file is read once at start, so a
 *    remembered answer cannot go stale before the process ends.
 * An unknown user is checked against a decoy hash at the cost most entries use, so its timing
 * looks like a known user's; the result is refused either way.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { bcryptVerifySliced, type BcryptHash } from './bcrypt.js';
import { CredentialChecksBusyError } from './errors.js';
import type { HtpasswdUsers } from './htpasswd.js';

export interface PasswordChecks {
  /** The remembered answer for these credentials, or undefined when a check has to run. */
  known(user: string, password: string): boolean | undefined;
  /** Runs the check (or joins the one running for the same credentials) and remembers its answer. */
  verify(user: string, password: string): Promise<boolean>;
}

export interface PasswordChecksOptions {
  readonly maxWaiting?: number;
  /** Awaited between slices of a check; the next turn of the event loop by default. */
  readonly pause?: () => Promise<void>;
}

const REMEMBER_MS = 5 * 60_000;
const MAX_REMEMBERED = 10_000;
const MAX_WAITING = 16;

export function createPasswordChecks(users: HtpasswdUsers, opts: PasswordChecksOptions = {}): PasswordChecks {
  const decoy = decoyHash(users);
  const pause = opts.pause ?? ((): Promise<void> => nextTurn());
  const maxWaiting = opts.maxWaiting ?? MAX_WAITING;
  const remembered = createAnswerMemo(randomBytes(32));
  const running = new Map<string, Promise<boolean>>();
  let queue: Promise<unknown> = Promise.resolve();
  let waiting = 0;

  const check = async (id: string, user: string, password: string): Promise<boolean> => {
    const hash = users.get(user);
    const turn = queue.then(() => {
      waiting -= 1;
      return bcryptVerifySliced(password, hash ?? decoy, pause);
    });
    waiting += 1;
    queue = turn.catch(() => undefined);
    const ok = (await turn) && hash !== undefined;
    remembered.set(id, ok);
    return ok;
  };

  return {
    known: (user, password) => remembered.get(remembered.id(user, password)),
    verify(user, password) {
      const id = remembered.id(user, password);
      const answer = remembered.get(id);
      if (answer !== undefined) return Promise.resolve(answer);
      const joined = running.get(id);
      if (joined !== undefined) return joined;
      if (waiting >= maxWaiting) return Promise.reject(new CredentialChecksBusyError());
      const started = check(id, user, password).finally(() => running.delete(id));
      running.set(id, started);
      return started;
    },
  };
}

/** Answers by HMAC of the credentials (nothing an offline guesser could use); bounded, oldest dropped first. */
function createAnswerMemo(key: Buffer): { id(user: string, password: string): string; get(id: string): boolean | undefined; set(id: string, ok: boolean): void } {
  const entries = new Map<string, { ok: boolean; expires: number }>();
  return {
    id: (user, password) => createHmac('sha256', key).update(`${user}\u0000${password}`).digest('hex'),
    get(id) {
      const entry = entries.get(id);
      return entry !== undefined && entry.expires > Date.now() ? entry.ok : undefined;
    },
    set(id, ok) {
      entries.delete(id);
      entries.set(id, { ok, expires: Date.now() + REMEMBER_MS });
      if (entries.size > MAX_REMEMBERED) entries.delete(entries.keys().next().value ?? id);
    },
  };
}

/** A well-formed hash nothing matches, at the cost most real entries use. */
function decoyHash(users: HtpasswdUsers): BcryptHash {
  const counts = new Map<number, number>();
  for (const { cost } of users.values()) counts.set(cost, (counts.get(cost) ?? 0) + 1);
  let cost = 5;
  for (const [c, n] of counts) if (n > (counts.get(cost) ?? 0)) cost = c;
  const encoded = `$2y$${String(cost).padStart(2, '0')}$${'.'.repeat(53)}`;
  return { prefix: '2y', cost, salt: randomBytes(16), encoded };
}
