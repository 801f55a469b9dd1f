/**
 * The value types of the configuration (durations, sizes, secrets, PEM certificates, registry
 * URLs, repository patterns) and the rules an upstream and its mirrors share: each parsed and
 * refused here with a message that says what is wanted, at the key config.ts puts it under.
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { parseRepositoryPattern, type RepositoryPattern } from '@regcache/registry-protocol';
import { createSecret, type Secret } from './secret.js';
import { lacksUnit, parseDurationMs, parseSizeBytes } from './units.js';

export const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
/** Upstream names are registry host names (what containerd sends as `ns=`), optionally with a port. */
export const UPSTREAM_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/**
 * A number written without its unit (`1000`, `"300"`), but 0, which is the same in every unit.
 * Its unit would be a guess — `maxSize: 1000` meant as GiB was a budget of 1000 bytes and
 * emptied the cache, `idleTimeout: 60000` meant as ms would be 16 hours — so the config refuses
 * it, as regcache-admin's --max-size and --max-age do.
 */
const bareNumber = (value: string | number): boolean => (typeof value === 'number' ? value !== 0 : lacksUnit(value) && Number(value) !== 0);

export function duration(fallback: string) {
  return z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      if (bareNumber(value)) {
        ctx.addIssue({ code: 'custom', message: `give a unit (e.g. 30s, 5m, 1h): is ${value} seconds or milliseconds? Only 0 may go without one` });
        return z.NEVER;
      }
      const ms = parseDurationMs(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use e.g. 30s, 5m, 1h)` });
        return z.NEVER;
      }
      return ms;
    });
}

/**
 * The longest delay a Node timer keeps: 2^31 - 1 ms (≈ 24.8 days). A longer one is set to 1 ms
 * with only a warning, so a shutdownTimeout of "100d" would cut every pull at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration that becomes a timer (a socket timeout, a fill's idle limit, a shutdown grace):
 * at most MAX_TIMER_MS, and more than 0 unless `zero` says what 0 does. 0 is refused where it
 * would mean "at once" for one code path and "never" for another (Node, undici and the addon's
 * loops disagree), or switch off a limit that keeps slow clients from holding connections.
 */
export function timerDuration(fallback: string, zero?: 'allowed') {
  return duration(fallback).superRefine((ms, ctx) => {
    if (ms === 0 && zero !== 'allowed') ctx.addIssue({ code: 'custom', message: 'must be more than 0 (e.g. 30s)' });
    if (ms > MAX_TIMER_MS) ctx.addIssue({ code: 'custom', message: `too long: ${ms} ms; at most ${MAX_TIMER_MS} ms (about 24 days, the longest a timer waits)` });
  });
}

/**
 * A size with its unit (`512MiB`, `50GiB`, `0B`; a bare 0 too). `positive` refuses 0, with the
 * reason it gives, where 0 would mean something no one wants (a store budget of nothing).
 */
export function size(opts: { positive?: string } = {}) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    if (bareNumber(value)) {
      ctx.addIssue({ code: 'custom', message: `give a unit (e.g. 10GiB, 512MiB): is ${value} bytes, MiB or GiB? Only 0 may go without one` });
      return z.NEVER;
    }
    const bytes = parseSizeBytes(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a size: "${value}" (use e.g. 512MiB, 50GiB)` });
      return z.NEVER;
    }
    if (bytes === 0 && opts.positive !== undefined) {
      ctx.addIssue({ code: 'custom', message: `must be more than 0: ${opts.positive}` });
      return z.NEVER;
    }
    return bytes;
  });
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * X.509 certificates in PEM, each one parsed here — Node's TLS would skip an unreadable one
 * without a word, and the first fill would fail on a certificate error instead.
 */
export const pemCertificates = z.string().superRefine((pem, ctx) => {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) ctx.addIssue({ code: 'custom', message: 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)' });
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not usable as a CA: certificate ${i + 1} of ${blocks.length}: ${(error as Error).message}` });
    }
  });
});

/** A repository pattern (registry-protocol's repository-pattern.ts), refused with its reason. */
export const repositoryPattern = z.string().transform((value, ctx): RepositoryPattern => {
  const parsed = parseRepositoryPattern(value);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error.message });
  return z.NEVER;
});

export const secret = z
  .string()
  .min(1)
  .transform((value): Secret => createSecret(value));

/** An HTTP proxy's URL; a Secret, since it may carry credentials. */
export const proxyUrl = z
  .url({ protocol: /^http$/, error: 'must be an http:// URL (the proxy itself; https:// upstreams go through it by CONNECT)' })
  .transform((value): Secret => createSecret(value));

/** The registry's root: regcache asks `/v2/…` there, so a path (but a pasted `/v2/`), query or fragment would be dropped unseen. */
const atRoot = (url: string): boolean => {
  const parsed = new URL(url);
  return /^\/(?:v2\/?)?$/.test(parsed.pathname) && parsed.search === '' && parsed.hash === '';
};

export const registryUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  // Credentials in the URL would be logged with it (and never sent): they go in username/password.
  .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'must not contain credentials: use username and password (or passwordFile)')
  .refine(atRoot, "must be the registry's root, like https://ghcr.io: its API is asked at /v2/ there, and a path, query or fragment would be ignored");

/** Rules an upstream and a mirror share (a check and where its message goes). */
export const passwordNeedsUser = (u: { password?: unknown; username?: unknown }): boolean => u.password === undefined || u.username !== undefined;
export const PASSWORD_NEEDS_USER = { message: 'a password needs a username', path: ['username'] };
export const oneCredential = (u: { password?: unknown; token?: unknown }): boolean => u.password === undefined || u.token === undefined;
export const ONE_CREDENTIAL = { message: 'password and token are both set: give one — a password (with username) or a token', path: ['token'] };
export const caNeedsHttps = (u: { ca?: unknown; url: string }): boolean => u.ca === undefined || u.url.startsWith('https:');
export const CA_NEEDS_HTTPS = { message: 'is only used with an https:// url', path: ['ca'] };
