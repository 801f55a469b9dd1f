/**
 * Reading what the server did, from an `strace -f -ttt -e trace=open,openat,openat2,connect`
 * log: the files it opened and the TCP addresses it connected to after a given moment (when
 * it was listening — start-up loads code and config from everywhere, serving must not).
 */
import { readFile, readdir } from 'node:fs/promises';

export const STRACE_ARGS = ['-f', '-qq', '-ttt', '--seccomp-bpf', '-e', 'trace=open,openat,openat2,connect'];

export interface Syscalls {
  /** Absolute paths opened (successfully or not). */
  opened: string[];
  /** `host:port` of every AF_INET/AF_INET6 connect. */
  connected: string[];
}

const OPEN = /^\d+\s+(\d+\.\d+)\s+open(?:at2?)?\((?:AT_FDCWD|\d+), "([^"]*)"|^\d+\s+(\d+\.\d+)\s+open\("([^"]*)"/;
const CONNECT = /^\d+\s+(\d+\.\d+)\s+connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), (?:sin_addr=inet_addr\("([^"]+)"\)|[^}]*inet_pton\(AF_INET6, "([^"]+)")/;

/** Syscalls logged after `sinceMs` (epoch ms). */
export async function syscallsSince(logPath: string, sinceMs: number): Promise<Syscalls> {
  const text = await readFile(logPath, 'utf8');
  const result: Syscalls = { opened: [], connected: [] };
  for (const line of text.split('\n')) {
    const open = OPEN.exec(line);
    if (open !== null && Number(open[1] ?? open[3]) * 1000 >= sinceMs) result.opened.push((open[2] ?? open[4]) as string);
    const connect = CONNECT.exec(line);
    if (connect !== null && Number(connect[1]) * 1000 >= sinceMs) result.connected.push(`${connect[3] ?? connect[4]}:${connect[2]}`);
  }
  return result;
}

/** The pid of strace's traced child (the server itself). */
export async function tracee(stracePid: number): Promise<number> {
  for (const task of await readdir(`/proc/${stracePid}/task`)) {
    const children = (await readFile(`/proc/${stracePid}/task/${task}/children`, 'utf8')).trim();
    if (children !== '') return Number(children.split(/\s+/)[0]);
  }
  throw new Error(`strace ${stracePid} has no child`);
}
