/**
 * The load generators, run as child processes and parsed: `wrk` for GET (2 threads, N
 * connections, D seconds, --latency) and ApacheBench for HEAD (`ab -k -i -r -c N -t D`, with a
 * huge -n so the time limit ends it). Both keep their connections alive; both report errors,
 * which the rows turn into failures rather than silently fast numbers.
 */
import { runCommand } from '@regcache/testkit';

export interface LoadResult {
  reqPerS: number;
  requests: number;
  /** Responses that were not 2xx/3xx plus socket/failed requests. */
  errors: number;
  /** wrk: latency percentiles in ms. */
  p50Ms?: number;
  p99Ms?: number;
  /** ab: how many requests went over a kept-alive connection. */
  keepAlive?: number;
  raw: string;
}

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
}

function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
}

function num(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function latencyMs(text: string, percent: string): number | undefined {
  const match = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text);
  if (match?.[1] === undefined) return undefined;
  const scale = match[2] === 'us' ? 0.001 : match[2] === 's' ? 1000 : 1;
  return Number(match[1]) * scale;
}

/** wrk -t2 -cN -dDs --latency; throws when wrk fails or prints no rate. */
export async function runWrk(wrk: string, spec: LoadSpec): Promise<LoadResult> {
  const args = ['-t2', `-c${spec.connections}`, `-d${spec.durationS}s`, '--latency', ...headerArgs(spec.headers), spec.url];
  const result = await runCommand(wrk, args, { timeoutMs: (spec.durationS + 60) * 1000 });
  const out = result.stdout;
  const reqPerS = num(out, /^Requests\/sec:\s+([\d.]+)/m);
  if (result.code !== 0 || reqPerS === undefined) throw new Error(`wrk exited ${result.code}:\n${result.stderr}${out}`);
  const non2xx = num(out, /Non-2xx or 3xx responses:\s+(\d+)/) ?? 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  return {
    reqPerS,
    requests: num(out, /^\s+(\d+) requests in/m) ?? 0,
    errors: non2xx + socketErrors,
    p50Ms: latencyMs(out, '50'),
    p99Ms: latencyMs(out, '99'),
    raw: out,
  };
}

/** ab -k -i -r -cN -tD -n 10M (HEAD, keep-alive); throws when ab fails or prints no rate. */
export async function runAbHead(ab: string, spec: LoadSpec): Promise<LoadResult> {
  const args = ['-k', '-i', '-r', '-q', `-c${spec.connections}`, `-t${spec.durationS}`, '-n10000000', ...headerArgs(spec.headers), spec.url];
  const result = await runCommand(ab, args, { timeoutMs: (spec.durationS + 60) * 1000 });
  const out = result.stdout;
  const reqPerS = num(out, /^Requests per second:\s+([\d.]+)/m);
  if (result.code !== 0 || reqPerS === undefined) throw new Error(`ab exited ${result.code}:\n${result.stderr}${out}`);
  const failed = num(out, /^Failed requests:\s+(\d+)/m) ?? 0;
  const non2xx = num(out, /^Non-2xx responses:\s+(\d+)/m) ?? 0;
  return {
    reqPerS,
    requests: num(out, /^Complete requests:\s+(\d+)/m) ?? 0,
    errors: failed + non2xx,
    keepAlive: num(out, /^Keep-Alive requests:\s+(\d+)/m),
    raw: out,
  };
}
