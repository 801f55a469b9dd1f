/**
 * The admin API's wire format: JSON request bodies (small, capped), JSON answers, plain
 * `{"error":{"message"}}` errors, and NDJSON streams for the long operations — progress
 * lines while they run, then one `result` (or `error`) line — so the CLI can draw the same
 * progress bar whether it runs the operation itself or a server does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OperationInputError } from './operation-errors.js';

const MAX_BODY = 64 * 1024;
const PROGRESS_INTERVAL_MS = 100;

export type JsonObject = Record<string, unknown>;

/** How the API describes a failure: its message, and whether the request itself was wrong. */
export interface ErrorDescription {
  status: number;
  kind: 'input' | 'unavailable' | 'internal';
  message: string;
}

export async function readJsonBody(req: IncomingMessage): Promise<JsonObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new OperationInputError(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OperationInputError('request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OperationInputError('request body must be a JSON object');
  return parsed as JsonObject;
}

export function sendAdminJson(res: ServerResponse, status: number, value: unknown, head = false): void {
  const body = Buffer.from(`${JSON.stringify(value)}\n`);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', body.length);
  res.end(head ? undefined : body);
}

export function sendAdminError(res: ServerResponse, error: ErrorDescription): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendAdminJson(res, error.status, { error: { kind: error.kind, message: error.message } });
}

export function sendText(res: ServerResponse, contentType: string, text: string): void {
  const body = Buffer.from(text);
  res.statusCode = 200;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', body.length);
  res.end(body);
}

/**
 * Runs `run` with a throttled progress emitter, streaming NDJSON. The 200 and its head go out
 * with the first line: an operation that fails before any progress (a reference it cannot
 * parse, a platform it cannot match — found only once it runs) is answered with its own status
 * and JSON error, as a bad body is; an error after the stream started becomes an `error` line
 * (the status is already sent).
 */
export async function streamOperation(res: ServerResponse, run: (progress: (p: unknown) => void) => Promise<unknown>, describe: (error: unknown) => ErrorDescription): Promise<void> {
  const start = (): void => {
    if (res.headersSent) return;
    res.statusCode = 200;
    res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
  };
  const line = (value: unknown): void => {
    start();
    if (res.writable) res.write(`${JSON.stringify(value)}\n`);
  };
  let last = 0;
  /** The latest report the throttle held back: sent before the result, so a client's bar ends where the work did. */
  let held: { p: unknown } | undefined;
  const progress = (p: unknown): void => {
    const now = Date.now();
    held = { p };
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    held = undefined;
    line({ progress: p });
  };
  try {
    const result = await run(progress);
    if (held !== undefined) line({ progress: held.p });
    line({ result });
  } catch (error) {
    const description = describe(error);
    if (!res.headersSent) return sendAdminError(res, description);
    line({ error: { kind: description.kind, message: description.message } });
  }
  res.end();
}

/** `value` if it is undefined or a boolean; else a clear error naming `key`. */
export function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new OperationInputError(`"${key}" must be true or false`);
}
