/**
 * The kit's own v2 API client for a test registry (undici). Authenticates as the registry's
 * user: Basic, or a token minted directly by its token server. Requests carry the kit's
 * User-Agent, so they stay out of RunningRegistry.requests() by default.
 */
import { request } from 'undici';
import { sha256 } from './digest.js';
import { ACCEPT_ALL_MANIFESTS } from './media-types.js';
import type { RunningRegistry } from './registry.js';
import { TESTKIT_USER_AGENT } from './registry-log.js';

export interface RegistryResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RegistryRequest {
  method: string;
  /** Path (and query) on the registry, or an absolute URL (e.g. an upload Location). */
  path: string;
  /** Repository the request is about, for the token scope. */
  repository?: string;
  actions?: string[];
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** The Authorization header the registry's user would send for this repository and actions. */
export function authorizationFor(registry: RunningRegistry, repository?: string, actions: string[] = ['pull']): string | undefined {
  const creds = registry.credentials;
  if (registry.auth === 'basic' && creds !== undefined) {
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  }
  if (registry.auth === 'token' && registry.tokenServer !== undefined) {
    const access = repository === undefined ? [] : [{ type: 'repository', name: repository, actions }];
    return `Bearer ${registry.tokenServer.mint(creds?.username ?? '', access)}`;
  }
  return undefined;
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** One authenticated request to the registry; never throws on an HTTP error status. */
export async function registryRequest(registry: RunningRegistry, req: RegistryRequest): Promise<RegistryResponse> {
  const headers: Record<string, string> = { 'user-agent': TESTKIT_USER_AGENT, ...req.headers };
  const authorization = authorizationFor(registry, req.repository, req.actions);
  if (authorization !== undefined) headers['authorization'] = authorization;
  const url = new URL(req.path, registry.url);
  const res = await request(url, { method: req.method, headers, body: req.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: flatHeaders(res.headers), body };
}

function fail(what: string, res: RegistryResponse): never {
  throw new Error(`${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
}

/** Monolithic blob upload (POST uploads/, PUT ?digest=); returns the digest. */
export async function pushBlob(registry: RunningRegistry, name: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const actions = ['pull', 'push'];
  const started = await registryRequest(registry, { method: 'POST', path: `/v2/${name}/blobs/uploads/`, repository: name, actions });
  if (started.status !== 202 || started.headers['location'] === undefined) fail(`pushBlob ${name}: start upload`, started);
  const location = new URL(started.headers['location'], registry.url);
  location.searchParams.set('digest', digest);
  const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) };
  const done = await registryRequest(registry, { method: 'PUT', path: location.toString(), repository: name, actions, headers, body: bytes });
  if (done.status !== 201) fail(`pushBlob ${name}: PUT`, done);
  if (done.headers['docker-content-digest'] !== digest) throw new Error(`pushBlob ${name}: registry says ${done.headers['docker-content-digest'] ?? 'nothing'}, expected ${digest}`);
  return digest;
}

/** PUT a manifest under a tag or digest; returns the registry's Docker-Content-Digest (checked against the body). */
export async function pushManifest(registry: RunningRegistry, name: string, reference: string, body: string | Buffer, mediaType: string): Promise<string> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers = { 'content-type': mediaType };
  const res = await registryRequest(registry, { method: 'PUT', path: `/v2/${name}/manifests/${reference}`, repository: name, actions: ['pull', 'push'], headers, body: bytes });
  if (res.status !== 201) fail(`pushManifest ${name}:${reference}`, res);
  const digest = res.headers['docker-content-digest'];
  if (digest !== sha256(bytes)) throw new Error(`pushManifest ${name}:${reference}: registry says ${digest ?? 'nothing'}, body hashes to ${sha256(bytes)}`);
  return digest;
}

export interface FetchedManifest {
  status: number;
  digest: string;
  mediaType: string;
  body: Buffer;
}

/** GET a manifest with an Accept for every kind; checks Docker-Content-Digest against the body's sha256. */
export async function fetchManifest(registry: RunningRegistry, name: string, reference: string): Promise<FetchedManifest> {
  const res = await registryRequest(registry, { method: 'GET', path: `/v2/${name}/manifests/${reference}`, repository: name, headers: { accept: ACCEPT_ALL_MANIFESTS } });
  if (res.status !== 200) fail(`fetchManifest ${name}:${reference}`, res);
  const digest = sha256(res.body);
  if (res.headers['docker-content-digest'] !== digest) {
    throw new Error(`fetchManifest ${name}:${reference}: Docker-Content-Digest ${res.headers['docker-content-digest'] ?? 'missing'} != sha256 of body ${digest}`);
  }
  return { status: res.status, digest, mediaType: res.headers['content-type'] ?? '', body: res.body };
}

/** DELETE a manifest by digest (the registry needs deleteEnabled, the default). */
export async function deleteManifest(registry: RunningRegistry, name: string, digest: string): Promise<void> {
  const res = await registryRequest(registry, { method: 'DELETE', path: `/v2/${name}/manifests/${digest}`, repository: name, actions: ['pull', 'push', 'delete', '*'] });
  if (res.status !== 202) fail(`deleteManifest ${name}@${digest}`, res);
}
