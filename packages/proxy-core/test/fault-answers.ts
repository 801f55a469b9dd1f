/**
 * The OCI error a client gets through regcache while the fault proxy in front of its upstream
 * damages matching answers: the fault set for one request, and cleared whatever happens.
 */
import type { Fault, FaultOptions, FaultProxy } from '@regcache/testkit';

export interface ErrorAnswer {
  status: number;
  code?: string;
  message?: string;
}

export async function errorOf(res: Response): Promise<ErrorAnswer> {
  const body = (await res.json()) as { errors?: Array<{ code: string; message: string }> };
  return { status: res.status, code: body.errors?.[0]?.code, message: body.errors?.[0]?.message };
}

/** GET `url` while `fault` applies to `options`' matches; the fault is cleared after. */
export async function errorUnder(proxy: FaultProxy, fault: Fault, options: FaultOptions, url: string): Promise<ErrorAnswer> {
  proxy.setFault(fault, options);
  try {
    return await errorOf(await fetch(url));
  } finally {
    proxy.setFault({ kind: 'none' });
  }
}
