/**
 * The configuration: this zod schema is the only source of the config type. The apps parse
 * a file + env + flags through `parseConfig` once, at start, and get back one deeply frozen
 * object; an embedder does the same with an object literal. A bad value becomes a
 * `ConfigError` whose issues name the key path (`upstreams.0.url`), never a stack trace.
 */
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { adminListenIssues, upstreamIssues } from './config-checks.js';
import {
  CA_NEEDS_HTTPS,
  caNeedsHttps,
  duration,
  timerDuration,
  HOST_PORT,
  ONE_CREDENTIAL,
  oneCredential,
  PASSWORD_NEEDS_USER,
  proxyUrl,
  passwordNeedsUser,
  pemCertificates,
  registryUrl,
  repositoryPattern,
  secret,
  size,
  UPSTREAM_NAME,
} from './config-fields.js';

/**
 * A registry that holds copies of an upstream's content (mirror.gcr.io for Docker Hub, a
 * nearer registry), asked first for anything named by digest. Tags are never resolved there.
 * Credentials, CA and proxy are its own (the files and the proxy environment as for an upstream).
 */
const mirrorSchema = z
  .object({
    url: registryUrl,
    username: z.string().min(1).optional(),
    password: secret.optional(),
    token: secret.optional(),
    ca: pemCertificates.optional(),
    proxy: proxyUrl.optional(),
  })
  .strict()
  .refine(passwordNeedsUser, PASSWORD_NEEDS_USER)
  .refine(oneCredential, ONE_CREDENTIAL)
  .refine(caNeedsHttps, CA_NEEDS_HTTPS);

const upstreamSchema = z
  .object({
    name: z.string().regex(UPSTREAM_NAME, 'must be a registry host name such as docker.io or ghcr.io'),
    url: registryUrl,
    username: z.string().min(1).optional(),
    password: secret.optional(),
    token: secret.optional(),
    default: z.boolean().default(false),
    tagTtl: duration('5m'),
    /** How long a manifest the upstream answered 404 for is answered 404 without asking again (not-found.ts); 0: never. */
    notFoundTtl: duration('0s'),
    hosts: z.array(z.string().min(1)).default([]),
    /** CA certificates (PEM) trusted for this upstream besides the system's (a private registry's CA); or caFile. */
    ca: pemCertificates.optional(),
    /**
     * An HTTP proxy on the way to this upstream (CONNECT for https://, absolute-form requests
     * for http://), credentials allowed in the URL; loadConfig fills it from HTTPS_PROXY /
     * HTTP_PROXY / NO_PROXY when the file names none. A Secret: its URL may carry credentials.
     */
    proxy: proxyUrl.optional(),
    timeouts: z
      .object({ connect: timerDuration('10s'), headers: timerDuration('30s'), body: timerDuration('60s') })
      .strict()
      .prefault({}),
    /**
     * Which of this upstream's repositories are served: those matching an `allow` pattern
     * (every one when `allow` is left out) and no `deny` pattern. Any other is answered 403
     * DENIED without a question to the upstream, cached or not. For docker.io a pattern of
     * one component gets `library/`, as names do.
     */
    repositories: z
      .object({
        allow: z.array(repositoryPattern).min(1, 'list at least one pattern, or leave allow out to allow every repository').optional(),
        deny: z.array(repositoryPattern).default([]),
      })
      .strict()
      .optional(),
    /**
     * Mirrors of this upstream, asked in order, before it, for manifests and blobs by digest
     * (upstream/mirrors.ts). A tag is still resolved here, with a HEAD; what a mirror sends is
     * verified against its digest like anything else.
     */
    mirrors: z.array(mirrorSchema).default([]),
  })
  .strict()
  .refine(passwordNeedsUser, PASSWORD_NEEDS_USER)
  .refine(oneCredential, ONE_CREDENTIAL)
  .refine(caNeedsHttps, CA_NEEDS_HTTPS);

export const configSchema = z
  .object({
    listen: z
      .string()
      .regex(HOST_PORT, 'must be HOST:PORT, e.g. 0.0.0.0:5000')
      .refine((value) => !HOST_PORT.test(value) || Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'the port must be at most 65535')
      .default('0.0.0.0:5000'),
    storage: z
      .object({
        path: z.string().min(1).default('./data'),
        maxSize: size({ positive: 'a budget of 0 would evict everything cached (leave maxSize out for no budget)' }).optional(),
        // Automatic eviction: over highWatermark × maxSize, evict down to lowWatermark × maxSize.
        highWatermark: z.number().gt(0).lte(1).default(0.95),
        lowWatermark: z.number().gt(0).lt(1).default(0.8),
      })
      .strict()
      .refine((s) => s.lowWatermark < s.highWatermark, { message: 'lowWatermark must be below highWatermark', path: ['lowWatermark'] })
      .prefault({}),
    upstreams: z
      .array(upstreamSchema)
      .min(1, 'at least one upstream is needed')
      .prefault([{ name: 'docker.io', url: 'https://registry-1.docker.io' }]),
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    // Client authentication, off unless an htpasswd file or a token is given.
    auth: z
      .object({
        /** An htpasswd file of bcrypt hashes (`htpasswd -B`), read at start. */
        htpasswd: z.string().min(1).optional(),
        /** Static bearer tokens (also accepted as the password of Basic credentials). */
        tokens: z.array(secret).default([]),
        realm: z.string().min(1).max(128).default('regcache'),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({ listen: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    fill: z
      .object({
        continueWhenClientsGone: z.boolean().default(true),
        detachedMaxSize: size().default(4 * 1024 ** 3),
        idleTimeout: timerDuration('60s'),
        /**
         * When an image manifest is first fetched, fill its config and layers ahead of the
         * clients, up to this many at a time (one unless a far upstream's fill lags:
         * prefetch.ts); 0 turns it off.
         */
        prefetch: z.number().int().min(0).max(16).default(3),
      })
      .strict()
      .prefault({}),
    // Client connections: what a slow or idle client may hold (slowloris), and SIGTERM's grace.
    limits: z
      .object({
        /** A client must have sent its request headers this long after it started the request. */
        headersTimeout: timerDuration('30s'),
        /** …and the whole request (a body: no registry route reads one). Never limits the response. */
        requestTimeout: timerDuration('60s'),
        /** An idle keep-alive connection is closed after this. */
        keepAliveTimeout: timerDuration('75s'),
        /** On SIGTERM, pulls in flight get this long to finish before their connections are cut. */
        shutdownTimeout: timerDuration('30s', 'allowed'),
        /**
         * Threads besides the main one that accept connections and replay hot manifest answers
         * (apps/server). Unset: 1 on a machine with more than one CPU, else 0. Only a plain
         * (non-TLS) listener without client auth uses them.
         */
        frontThreads: z.number().int().min(0).max(16).optional(),
      })
      .strict()
      .refine((l) => l.headersTimeout <= l.requestTimeout, { message: 'headersTimeout must not exceed requestTimeout', path: ['headersTimeout'] })
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /**
         * apps/server: at most this many bytes of log lines wait for stdout; lines beyond are
         * dropped and counted, so a slow log reader cannot grow the heap (log-destination.ts).
         */
        maxBuffer: size()
          .refine((bytes) => bytes >= 64 * 1024, { message: 'must be at least 64KiB' })
          .default(8 * 1024 ** 2),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const issues = [...upstreamIssues(config.upstreams), ...adminListenIssues(config.listen, config.admin.listen)];
    for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
  });

export type RegcacheConfig = z.output<typeof configSchema>;
export type RegcacheConfigInput = z.input<typeof configSchema>;
export type UpstreamConfig = RegcacheConfig['upstreams'][number];
export type MirrorConfig = UpstreamConfig['mirrors'][number];
export type ClientAuthConfig = RegcacheConfig['auth'];
export { ConfigError, type ConfigIssue } from './config-error.js';

/** Validates, fills defaults and deep-freezes. Throws `ConfigError`. */
export function parseConfig(input: unknown): RegcacheConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    );
  }
  return deepFreeze(result.data);
}

/** The upstream used when a request names none: the one marked `default`, else the first. */
export function defaultUpstream(config: RegcacheConfig): UpstreamConfig {
  const marked = config.upstreams.find((u) => u.default);
  return marked ?? (config.upstreams[0] as UpstreamConfig);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
