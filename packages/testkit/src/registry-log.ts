/**
 * The registry's access log: one combined-format line per request on its stdout/stderr,
 * `127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "" "user-agent"`.
 */

export interface RegistryLogEntry {
  method: string;
  /** The request path without its query string. */
  path: string;
  status: number;
  /** The full request URI as logged (path and query). */
  uri: string;
  userAgent: string;
}

/** User-Agent of the kit's own requests (readiness probes, log sync, read-backs, pushBlob…). */
export const TESTKIT_USER_AGENT = 'regcache-testkit/1';

const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \S+ "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"\s*$/;

/** Parses one output line; undefined for anything that is not an access log line. */
export function parseAccessLine(line: string): RegistryLogEntry | undefined {
  const match = ACCESS_LINE.exec(line);
  if (match === null) return undefined;
  const [, method = '', uri = '', status = '0', userAgent = ''] = match;
  const query = uri.indexOf('?');
  return { method, path: query < 0 ? uri : uri.slice(0, query), status: Number(status), uri, userAgent };
}

/** True for requests the kit itself sent; they are left out of requests() unless asked for. */
export function isInternal(entry: RegistryLogEntry): boolean {
  return entry.userAgent.startsWith('regcache-testkit');
}

/** Case-insensitive method match ('*' matches any); a string path matches exactly, a RegExp is tested on the path. */
export function entryMatches(entry: RegistryLogEntry, method: string, path: string | RegExp): boolean {
  if (method !== '*' && entry.method.toUpperCase() !== method.toUpperCase()) return false;
  if (typeof path === 'string') return entry.path === path;
  path.lastIndex = 0; // a /g or /y RegExp would otherwise alternate
  return path.test(entry.path);
}

export interface AccessLog {
  onLine(line: string): void;
  entries(opts?: { includeInternal?: boolean }): RegistryLogEntry[];
  reset(): void;
  /** Recent raw output lines (for error messages). */
  tail(): string[];
  /** Resolves when an entry satisfying the predicate has been logged (or rejects after timeoutMs). */
  waitFor(predicate: (entry: RegistryLogEntry) => boolean, timeoutMs: number): Promise<void>;
}

type Waiter = (entry: RegistryLogEntry) => void;

function waitForEntry(entries: () => RegistryLogEntry[], waiters: Set<Waiter>, predicate: (entry: RegistryLogEntry) => boolean, timeoutMs: number): Promise<void> {
  if (entries().some(predicate)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`registry access log: no matching request within ${timeoutMs} ms`));
    }, timeoutMs);
    const waiter: Waiter = (entry) => {
      if (!predicate(entry)) return;
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve();
    };
    waiters.add(waiter);
  });
}

/** Collects access log entries from output lines and keeps the last 200 raw lines. */
export function accessLog(): AccessLog {
  let entries: RegistryLogEntry[] = [];
  const raw: string[] = [];
  const waiters = new Set<Waiter>();
  return {
    onLine(line) {
      raw.push(line);
      if (raw.length > 200) raw.shift();
      const entry = parseAccessLine(line);
      if (entry === undefined) return;
      entries.push(entry);
      for (const waiter of [...waiters]) waiter(entry);
    },
    entries: (opts = {}) => entries.filter((entry) => opts.includeInternal === true || !isInternal(entry)),
    reset() {
      entries = [];
    },
    tail: () => [...raw],
    waitFor: (predicate, timeoutMs) => waitForEntry(() => entries, waiters, predicate, timeoutMs),
  };
}
