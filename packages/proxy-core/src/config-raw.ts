/**
 * The configuration before the schema has seen it: the file's mapping, to which loadConfig adds
 * the environment and the flags. Helpers to reach its sections, upstreams and mirrors whatever
 * shape the file gave them (the schema refuses a wrong shape later, naming its key).
 */
export type Raw = Record<string, unknown>;

export const isRecord = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `raw[key]` as a mapping, made (replacing whatever else was there) when it is not one. */
export function section(raw: Raw, key: string): Raw {
  const current = raw[key];
  if (isRecord(current)) return current;
  const fresh: Raw = {};
  raw[key] = fresh;
  return fresh;
}

/**
 * The upstreams that are mappings, each with its index; the default list (Docker Hub) is made
 * when the file names none (a value that is not a list is left for the schema to refuse).
 */
export function upstreamEntries(raw: Raw): Array<[number, Raw]> {
  if (raw.upstreams === undefined) raw.upstreams = [{ name: 'docker.io', url: 'https://registry-1.docker.io' }];
  return entries(raw.upstreams);
}

/** An upstream's mirrors that are mappings, each with its index. */
export function mirrorEntries(upstream: Raw): Array<[number, Raw]> {
  return entries(upstream.mirrors);
}

/**
 * Every upstream and every mirror of one — what may hold credentials, a CA and a proxy — with
 * its key path (`upstreams.0`, `upstreams.0.mirrors.1`). None when the file lists no upstreams.
 */
export function credentialHolders(raw: Raw): Array<[string, Raw]> {
  if (!Array.isArray(raw.upstreams)) return [];
  return upstreamEntries(raw).flatMap(([i, upstream]): Array<[string, Raw]> => [
    [`upstreams.${i}`, upstream],
    ...mirrorEntries(upstream).map(([m, mirror]): [string, Raw] => [`upstreams.${i}.mirrors.${m}`, mirror]),
  ]);
}

function entries(list: unknown): Array<[number, Raw]> {
  if (!Array.isArray(list)) return [];
  return [...(list as unknown[]).entries()].filter((entry): entry is [number, Raw] => isRecord(entry[1]));
}
