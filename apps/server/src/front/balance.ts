/**
 * Spreading connections over the threads that replay hot answers: the main thread (index 0) and
 * each front thread (1…n) count the connections they serve in one shared Int32Array, and a
 * thread that accepts a connection while it serves more than another passes it to the one that
 * serves fewest (front-threads.ts, front-worker.ts carry it: a dup of the descriptor).
 *
 * Why: every thread accepts on the same listening socket, and whichever wakes first takes the
 * connections waiting in the backlog (UV_TCP_SINGLE_ACCEPT, main.ts, only makes it yield after
 * each). A client that opens its connections at once (ab -c32, a CI runner's parallel pulls,
 * kubelets after a node restart) could land whole on one thread, the other replaying nothing:
 * in 12 fresh runs of the bench's HEAD load (ab -k -c32, 2 vCPUs) 2 had every connection on the
 * front (45–46k req/s, the main thread idle) and 2 every request answered in the main thread
 * (44–45k; some of that was a front that started after the answer was hot and handed its
 * connections over, fixed beside this); runs split between both answered 50–75k. With this,
 * 16 fresh runs of 16 split, at 57–63k.
 *
 * A connection moves only when its thread serves more than SLACK more than another: a move
 * costs a dup, a message and a socket in each thread, which a client that opens a connection
 * per request (ab without -k, -c32) paid on every other one — 9.3–9.45k req/s against
 * 9.6–9.7k with the slack (three alternating runs each; 8.7–9.8k before any balancing).
 *
 * The counts are a snapshot read without a lock: two threads placing at the same moment can
 * both pick the same one, so the spread is even to within a connection or two, not exact.
 */

/** How many more connections than the least loaded thread a thread keeps before it passes one on. */
const SLACK = 1;

/** The count of a thread that does not (or no longer) serve: never the fewest. */
export const NOT_SERVING = 1 << 30;

export interface Balance {
  /** Where a connection this thread just accepted is to be served — its own index, or the least loaded one's if this one serves more than SLACK more — counted there from now. */
  place(): number;
  /** A connection came to this thread without `place` (a front's hand-over to node:http): count it. */
  adopted(): void;
  /** A connection counted to this thread (or to `index`, where it never arrived) closed. */
  closed(index?: number): void;
  /** This thread serves from now on (a front, once it listens). */
  serving(): void;
}

/** A shared array of `threads` counts, every thread but the main one not serving until it says so. */
export function createLoads(threads: number): Int32Array {
  const loads = new Int32Array(new SharedArrayBuffer(4 * threads));
  for (let i = 1; i < threads; i++) loads[i] = NOT_SERVING;
  return loads;
}

/** Thread `self`'s view of `loads`. */
export function createBalance(loads: Int32Array, self: number): Balance {
  return {
    place() {
      let target = self;
      let least = Atomics.load(loads, self) - SLACK;
      for (let i = 0; i < loads.length; i++) {
        const count = Atomics.load(loads, i);
        if (count < least) {
          least = count;
          target = i;
        }
      }
      Atomics.add(loads, target, 1);
      return target;
    },
    adopted: () => void Atomics.add(loads, self, 1),
    closed: (index = self) => void Atomics.sub(loads, index, 1),
    serving: () => void Atomics.store(loads, self, 0),
  };
}

/** Thread `index` serves no more (it ended, or the server is stopping): nothing is placed there again. */
export function stopServing(loads: Int32Array, index: number): void {
  Atomics.store(loads, index, NOT_SERVING);
}
