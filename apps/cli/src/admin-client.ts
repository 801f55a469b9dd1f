/**
 * Talking to a running server's admin API over its unix socket or loopback port. A server
 * that is not there (no socket, connection refused) is `undefined`, so the caller opens the
 * store directly instead.
 */
import { Agent, request } from 'undici';
import type { ListenAddress } from '@regcache/proxy-core';

export interface AdminClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  close(): Promise<void>;
}

const ABSENT = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']);

export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
}

export async function connectAdmin(address: ListenAddress): Promise<AdminClient | undefined> {
  const agent = new Agent(address.kind === 'unix' ? { connect: { socketPath: address.path } } : {});
  const origin = address.kind === 'unix' ? 'http://localhost' : `http://${address.host}:${address.port}`;
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await request(`${origin}${path}`, {
      method,
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 600_000,
      bodyTimeout: 600_000,
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new AdminApiError(`the server's admin API answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  try {
    await call('GET', '/healthz');
  } catch (error) {
    await agent.close();
    const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? '';
    if (ABSENT.has(code)) return undefined;
    throw error;
  }
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body), close: () => agent.close() };
}
