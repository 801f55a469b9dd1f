/**
 * Which upstream a request is for, in order: the `ns` query parameter (containerd's
 * hosts.toml mirrors send `?ns=docker.io`), a first path component naming a configured
 * upstream (`/v2/ghcr.io/org/img/...`), the request's Host mapped in config, else the
 * default upstream. Only configured upstreams can ever be reached: an unknown `ns` is an
 * error, never a request to an arbitrary host (no open proxy).
 *
 * The upstream named `docker.io` is Docker Hub whatever its URL, so its one-component names
 * get `library/` (`alpine` → `library/alpine`).
 *
 * A path prefix can only name an upstream without a port: the repository name grammar has no
 * `:`, so `/v2/registry:5000/img/...` never parses. Such upstreams are reached by `ns=` or Host.
 *
 * Then the upstream's repository policy (`repositories.allow` / `deny` in its config): a
 * repository it does not serve is refused here, before the cache or the upstream is asked —
 * so every route (manifests, blobs, tags, referrers) and every way of naming it is covered.
 */
import {
  normalizeDockerHubName,
  normalizeDockerHubPattern,
  repositoryMatcher,
  splitFirstComponent,
  type RepositoryName,
  type RepositoryPattern,
} from '@regcache/registry-protocol';
import type { UpstreamConfig } from './config.js';
import type { Upstream } from './context.js';
import { RepositoryDeniedError, UnknownUpstreamError } from './errors.js';

export const DOCKER_HUB = 'docker.io';

export interface Router {
  resolve(name: RepositoryName | undefined, ns: string | undefined, host: string | undefined): { upstream: Upstream; repo: RepositoryName | undefined };
}

/** Whether an upstream serves a repository (as the upstream names it); undefined: every one. */
type Policy = (repo: RepositoryName) => boolean;

function repositoryPolicy(config: UpstreamConfig): Policy | undefined {
  const { repositories } = config;
  if (repositories === undefined) return undefined;
  const normalize = config.name === DOCKER_HUB ? normalizeDockerHubPattern : (pattern: RepositoryPattern) => pattern;
  const allowed = repositories.allow === undefined ? () => true : repositoryMatcher(repositories.allow.map(normalize));
  const denied = repositoryMatcher(repositories.deny.map(normalize));
  return (repo) => allowed(repo) && !denied(repo);
}

/**
 * A host as the hosts table holds it: lowercase, and without the root's dot — `ghcr.example.`
 * (a fully qualified name, as some resolvers and proxies send it) is `ghcr.example`, with or
 * without a port.
 */
const hostKey = (host: string): string => host.toLowerCase().replace(/\.(?=(:\d+)?$)/, '');

export function createRouter(upstreams: ReadonlyMap<string, Upstream>, fallback: Upstream): Router {
  const byHost = new Map<string, Upstream>();
  const policies = new Map<Upstream, Policy>();
  for (const upstream of upstreams.values()) {
    for (const host of upstream.config.hosts) byHost.set(hostKey(host), upstream);
    const policy = repositoryPolicy(upstream.config);
    if (policy !== undefined) policies.set(upstream, policy);
  }

  function check(picked: { upstream: Upstream; repo: RepositoryName | undefined }): { upstream: Upstream; repo: RepositoryName | undefined } {
    const policy = policies.get(picked.upstream);
    if (policy !== undefined && picked.repo !== undefined && !policy(picked.repo)) throw new RepositoryDeniedError(picked.upstream.config.name, picked.repo);
    return picked;
  }

  function pick(name: RepositoryName | undefined, ns: string | undefined, host: string | undefined): { upstream: Upstream; repo: RepositoryName | undefined } {
    if (ns !== undefined) {
      const named = upstreams.get(ns.toLowerCase());
      if (named === undefined) throw new UnknownUpstreamError(ns);
      return { upstream: named, repo: name };
    }
    const split = name === undefined ? undefined : splitFirstComponent(name);
    const prefixed = split === undefined ? undefined : upstreams.get(split.first);
    if (prefixed !== undefined && split !== undefined) return { upstream: prefixed, repo: split.rest };
    const key = host === undefined ? undefined : hostKey(host);
    const hosted = key === undefined ? undefined : (byHost.get(key) ?? byHost.get(key.replace(/:\d+$/, '')));
    return { upstream: hosted ?? fallback, repo: name };
  }

  return {
    resolve(name, ns, host) {
      const picked = pick(name, ns, host);
      if (picked.repo !== undefined && picked.upstream.config.name === DOCKER_HUB) {
        return check({ upstream: picked.upstream, repo: normalizeDockerHubName(picked.repo) });
      }
      return check(picked);
    },
  };
}
