/**
 * What a server process holds, from /proc: resident memory, and its file descriptors — with
 * its TCP sockets told apart by the port at their far end, so a test can say "back to
 * baseline, apart from the keep-alive connection to the upstream".
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** VmRSS in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

export interface FdCount {
  total: number;
  /** TCP sockets whose remote port is one of `remotePorts`. */
  toPorts: number;
}

/** Socket inode → remote port, from /proc/<pid>/net/tcp{,6}. */
async function remotePortsByInode(pid: number): Promise<Map<string, number>> {
  const byInode = new Map<string, number>();
  for (const file of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${file}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      const inode = fields[9];
      if (remote === undefined || inode === undefined) continue;
      byInode.set(inode, Number.parseInt(remote.split(':')[1] ?? '0', 16));
    }
  }
  return byInode;
}

export async function countFds(pid: number, remotePorts: readonly number[] = []): Promise<FdCount> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const ports = await remotePortsByInode(pid);
  let toPorts = 0;
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const port = inode === undefined ? undefined : ports.get(inode);
    if (port !== undefined && remotePorts.includes(port)) toPorts++;
  }
  return { total: fds.length, toPorts };
}

export interface ProcessSamples {
  /** RSS in MiB, one sample per interval. */
  rss: number[];
  peakFds: number;
}

/** Samples RSS and the descriptor count every `intervalMs` until `stop()`. */
export function sampleProcess(pid: number, intervalMs = 1000): { stop(): ProcessSamples } {
  const samples: ProcessSamples = { rss: [], peakFds: 0 };
  const timer = setInterval(() => {
    void rssMiB(pid).then((rss) => samples.rss.push(rss), () => undefined);
    void readdir(`/proc/${pid}/fd`).then((fds) => (samples.peakFds = Math.max(samples.peakFds, fds.length)), () => undefined);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
