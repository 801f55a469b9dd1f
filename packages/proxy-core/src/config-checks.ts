/**
 * Rules across keys of a parsed config, run by the schema (config.ts) after each key is valid
 * on its own: upstream names and hosts each belong to one upstream, one default at most, and
 * the admin listener is a loopback or unix address of its own — not the registry's listener,
 * which failed at start with EADDRINUSE (exit 1) instead of naming the two keys.
 */
import { ConfigError } from './config-error.js';
import { adminAddressProblem, parseListen, sameListener, type ListenAddress } from './listen-address.js';

export interface CrossIssue {
  path: Array<string | number>;
  message: string;
}

interface UpstreamKeys {
  name: string;
  default: boolean;
  hosts: readonly string[];
}

/** A host as routing.ts looks it up: lowercase, without the root's trailing dot. */
const hostKey = (host: string): string => host.toLowerCase().replace(/\.(?=(:\d+)?$)/, '');

export function upstreamIssues(upstreams: readonly UpstreamKeys[]): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const names = new Map<string, number>();
  const hosts = new Map<string, [number, string]>();
  upstreams.forEach((u, i) => {
    if (names.has(u.name)) issues.push({ path: ['upstreams', i, 'name'], message: `duplicate upstream name "${u.name}"` });
    names.set(u.name, i);
    u.hosts.forEach((host, h) => {
      const earlier = hosts.get(hostKey(host));
      if (earlier !== undefined && earlier[0] !== i) {
        const message = `"${host}" is listed in the hosts of upstreams.${earlier[0]} (${earlier[1]}) too: a request with this Host can go to one upstream only`;
        issues.push({ path: ['upstreams', i, 'hosts', h], message });
      }
      hosts.set(hostKey(host), earlier ?? [i, u.name]);
    });
  });
  if (upstreams.filter((u) => u.default).length > 1) issues.push({ path: ['upstreams'], message: 'only one upstream can be the default' });
  return issues;
}

/** admin.listen as an address (parseListen's issues as they are), or its issues. */
function adminAddress(value: string): ListenAddress | CrossIssue[] {
  let address: ListenAddress;
  try {
    address = parseListen(value, 'admin.listen');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((issue) => ({ path: ['admin', 'listen'], message: issue.message }));
  }
  const problem = adminAddressProblem(address);
  return problem === undefined ? address : [{ path: ['admin', 'listen'], message: problem }];
}

export function adminListenIssues(listen: string, adminListen: string | undefined): CrossIssue[] {
  if (adminListen === undefined) return [];
  const admin = adminAddress(adminListen);
  if (Array.isArray(admin)) return admin;
  let registry: ListenAddress;
  try {
    registry = parseListen(listen, 'listen');
  } catch {
    return []; // listen's own issue says what is wrong with it
  }
  if (!sameListener(registry, admin)) return [];
  const message = `"${adminListen}" is where listen ("${listen}") is: the registry and the admin API each need their own listener — another port, or a unix socket (the default: admin.sock in storage.path)`;
  return [{ path: ['admin', 'listen'], message }];
}
