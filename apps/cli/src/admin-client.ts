/**
 * Talking to a running server's admin API over its unix socket or loopback port. A server
 * that is not there (no socket file, connection refused) is `undefined`, so the caller opens
 * the store directly instead. A server that is there but does not answer properly is an
 * error with a clear message — never a silent fallback.
 */
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import type { ListenAddress } from '@regcache/proxy-core';
import { CliError, ServerError } from './errors.js';

export interface AdminClient {
  readonly where: string;
  get<T>(path: string): Promise<T>;
  /** POSTs `body` and reads the NDJSON answer: progress lines to `onProgress`, then the result. */
  stream<T>(path: string, body: unknown, onProgress?: (p: never) => void): Promise<T>;
  close(): Promise<void>;
}

const ABSENT = new Set(['ENOENT', 'ECONNREFUSED']);
const PROBE_TIMEOUT_MS = 3000;
const ANSWER_TIMEOUT_MS = 5 * 60_000;

function errorCode(error: unknown): string {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR_SOCKET')) return code;
  }
  return '';
}

/** `unix:/path`, or `host:port` as a URL's authority (an IPv6 host in brackets: `[::1]:5001`). */
export function describeAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function parseJson<T>(where: string, path: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ServerError(`the server at ${where} answered ${path} with something that is not JSON: ${text.slice(0, 120)}`);
  }
}

function apiError(where: string, path: string, status: number, text: string): Error {
  const body = (() => {
    try {
      return JSON.parse(text) as { error?: { kind?: string; message?: string } };
    } catch {
      return undefined;
    }
  })();
  const message = body?.error?.message;
  if (message !== undefined && body?.error?.kind === 'input') return new CliError(message, 2);
  return new ServerError(`the server at ${where} answered ${path} with ${status}: ${message ?? text.slice(0, 200)}`);
}

async function readStream<T>(where: string, path: string, lines: AsyncIterable<string>, onProgress?: (p: never) => void): Promise<T> {
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const entry = parseJson<{ progress?: never; result?: T; error?: { kind?: string; message?: string } }>(where, path, line);
    if (entry.progress !== undefined) onProgress?.(entry.progress);
    else if (entry.error !== undefined) throw entry.error.kind === 'input' ? new CliError(entry.error.message ?? 'bad request', 2) : new ServerError(`the server failed: ${entry.error.message ?? 'unknown error'}`);
    else if ('result' in entry) return entry.result as T;
  }
  throw new ServerError(`the server at ${where} closed ${path} before sending a result`);
}

/** What a failed /healthz probe means: no server (undefined), or an error to report. */
function probeFailure(error: unknown, where: string): Error | undefined {
  const code = errorCode(error);
  if (ABSENT.has(code)) return undefined;
  if (error instanceof CliError) return error;
  if (code === 'EACCES') return new CliError(`cannot connect to the admin endpoint ${where}: permission denied (run as the server's user)`);
  if (code.includes('TIMEOUT')) return new ServerError(`the server at ${where} did not answer within ${PROBE_TIMEOUT_MS / 1000}s (is it stuck?)`);
  return new ServerError(`cannot talk to the server at ${where}: ${code || (error instanceof Error ? error.message : String(error))}`);
}

type Send = (method: 'GET' | 'POST', path: string, body: unknown, headersTimeout: number) => ReturnType<typeof request>;

function sender(address: ListenAddress, agent: Agent): Send {
  const origin = `http://${address.kind === 'unix' ? 'localhost' : describeAddress(address)}`;
  return (method, path, body, headersTimeout) =>
    request(`${origin}${path}`, {
      method,
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout,
      bodyTimeout: 0,
    });
}

export async function connectAdmin(address: ListenAddress): Promise<AdminClient | undefined> {
  const where = describeAddress(address);
  const agent = new Agent({ connect: { timeout: PROBE_TIMEOUT_MS, ...(address.kind === 'unix' ? { socketPath: address.path } : {}) } });
  const send = sender(address, agent);
  const get = async <T>(path: string, timeout = ANSWER_TIMEOUT_MS): Promise<T> => {
    const res = await send('GET', path, undefined, timeout);
    const text = await res.body.text();
    if (res.statusCode >= 400) throw apiError(where, path, res.statusCode, text);
    return parseJson<T>(where, path, text);
  };
  try {
    const health = await get<{ status?: string }>('/healthz', PROBE_TIMEOUT_MS);
    if (health.status !== 'ok') throw new ServerError(`the server at ${where} is not healthy: ${JSON.stringify(health).slice(0, 200)}`);
  } catch (error) {
    await agent.close();
    const failure = probeFailure(error, where);
    if (failure === undefined) return undefined;
    throw failure;
  }
  return {
    where,
    get: (path) => get(path),
    async stream<T>(path: string, body: unknown, onProgress?: (p: never) => void): Promise<T> {
      const res = await send('POST', path, body, ANSWER_TIMEOUT_MS);
      if (res.statusCode >= 400) throw apiError(where, path, res.statusCode, await res.body.text());
      return readStream<T>(where, path, createInterface({ input: res.body, crlfDelay: Infinity }), onProgress);
    },
    close: () => agent.close(),
  };
}
