/**
 * A bounded memo for pure parses of request strings. Clients of a cache send the same few
 * request targets and Accept headers over and over (every node of a rollout pulls the same
 * image), so parsing each distinct string once takes real work off every hit. The results
 * are shared between requests and must be treated as immutable. Bounded: when full it starts
 * over, which keeps the hot entries cheap and a flood of distinct strings harmless.
 */
export function createMemo<V>(parse: (input: string) => V, maxEntries = 4096, maxKeyLength = 1024): (input: string) => V {
  let entries = new Map<string, V>();
  return (input) => {
    if (input.length > maxKeyLength) return parse(input);
    const hit = entries.get(input);
    if (hit !== undefined) return hit;
    const value = parse(input);
    if (entries.size >= maxEntries) entries = new Map();
    entries.set(input, value);
    return value;
  };
}
