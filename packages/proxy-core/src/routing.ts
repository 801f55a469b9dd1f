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
 */
import { normalizeDockerHubName, splitFirstComponent, type RepositoryName } from '@regcache/registry-protocol';
import type { Upstream } from './context.js';
import { UnknownUpstreamError } from './errors.js';

export const DOCKER_HUB = 'docker.io';

export interface Router {
  resolve(name: RepositoryName | undefined, ns: string | undefined, host: string | undefined): { upstream: Upstream; repo: RepositoryName | undefined };
}

export function createRouter(upstreams: ReadonlyMap<string, Upstream>, fallback: Upstream): Router {
  const byHost = new Map<string, Upstream>();
  for (const upstream of upstreams.values()) {
    for (const host of upstream.config.hosts) byHost.set(host.toLowerCase(), upstream);
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
    const hosted = host === undefined ? undefined : (byHost.get(host.toLowerCase()) ?? byHost.get(host.toLowerCase().replace(/:\d+$/, '')));
    return { upstream: hosted ?? fallback, repo: name };
  }

  return {
    resolve(name, ns, host) {
      const picked = pick(name, ns, host);
      if (picked.repo !== undefined && picked.upstream.config.name === DOCKER_HUB) {
        return { upstream: picked.upstream, repo: normalizeDockerHubName(picked.repo) };
      }
      return picked;
    },
  };
}
