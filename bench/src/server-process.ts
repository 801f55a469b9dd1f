/**
 * A server under test as a child process (testkit's spawnManaged: output captured line by line,
 * killed when the bench exits however it exits), ready once GET /v2/ answers on its port.
 */
import { probe, spawnManaged, type ManagedProcess } from '@regcache/testkit';

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  port: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readyTimeoutMs?: number;
}

export interface ServerProcess {
  readonly pid: number;
  readonly proc: ManagedProcess;
  /** The last lines it printed (for error messages). */
  tail(): string[];
  stop(graceMs?: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function lineTail(limit: number): { push(line: string): void; lines(): string[] } {
  const lines: string[] = [];
  return {
    push(line) {
      lines.push(line);
      if (lines.length > limit) lines.shift();
    },
    lines: () => [...lines],
  };
}

async function waitReady(spec: ServerSpec, proc: ManagedProcess, tail: () => string[]): Promise<void> {
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (!proc.isRunning()) throw new Error(`${spec.name} exited during start-up:\n${tail().slice(-20).join('\n')}`);
    const status = await probe(spec.port);
    if (status === 200 || status === 401) return;
    await sleep(50);
  }
  await proc.stop(2000);
  throw new Error(`${spec.name} did not answer GET /v2/ on 127.0.0.1:${spec.port}:\n${tail().slice(-20).join('\n')}`);
}

/** Starts the server and waits until it answers; stop() it when done. */
export async function startServerProcess(spec: ServerSpec): Promise<ServerProcess> {
  const tail = lineTail(100);
  const proc = await spawnManaged(spec.command, spec.args, { env: spec.env, cwd: spec.cwd, onLine: (line) => tail.push(line) });
  await waitReady(spec, proc, () => tail.lines());
  return {
    pid: proc.pid,
    proc,
    tail: () => tail.lines(),
    stop: (graceMs = 10_000) => proc.stop(graceMs),
  };
}
