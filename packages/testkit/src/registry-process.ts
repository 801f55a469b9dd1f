/**
 * Launching one docker-registry process and waiting until it answers GET /v2/.
 */
import { request } from 'node:http';
import { spawnManaged, type ManagedProcess } from './process.js';
import { TESTKIT_USER_AGENT, type AccessLog } from './registry-log.js';

const READY_TIMEOUT_MS = 20_000;

/**
 * GET http://127.0.0.1:port{path} with the kit's user agent (so a proxy that passes it on to its
 * upstream does not show in the upstream's request counts); resolves the status (0 when unreachable).
 */
export function probe(port: number, path = '/v2/'): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { 'user-agent': TESTKIT_USER_AGENT }, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type RegistryStartError = Error & { addressInUse: boolean };

function startError(message: string, addressInUse: boolean): RegistryStartError {
  return Object.assign(new Error(message), { addressInUse });
}

/** True for the error launchRegistry throws when the port was taken. */
export function isAddressInUse(error: unknown): boolean {
  return error instanceof Error && 'addressInUse' in error && error.addressInUse === true;
}

async function waitReady(proc: ManagedProcess, port: number, log: AccessLog): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!proc.isRunning()) {
      const tail = log.tail().slice(-20).join('\n');
      throw startError(`docker-registry exited during start-up:\n${tail}`, /address already in use/.test(tail));
    }
    const status = await probe(port);
    if (status === 200 || status === 401) return;
    await sleep(50);
  }
  await proc.stop();
  throw startError(`docker-registry did not answer on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms:\n${log.tail().slice(-20).join('\n')}`, false);
}

/** The environment without REGISTRY_* variables, which would override the config file. */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
}

/** Spawns `docker-registry serve configPath`, feeding its output to the log, and waits until /v2/ answers. */
export async function launchRegistry(configPath: string, port: number, log: AccessLog): Promise<ManagedProcess> {
  const proc = await spawnManaged('docker-registry', ['serve', configPath], { env: registryEnv(), onLine: (line) => log.onLine(line) });
  await waitReady(proc, port, log);
  return proc;
}
