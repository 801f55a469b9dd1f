/**
 * startRegistry(): Debian's docker-registry on 127.0.0.1, in plain, Basic-auth or token-auth
 * mode, with its access log parsed so tests can count what the upstream served.
 */
import { join } from 'node:path';
import { freePort } from './ports.js';
import type { ManagedProcess } from './process.js';
import { accessLog, entryMatches, isInternal, TESTKIT_USER_AGENT, type AccessLog, type RegistryLogEntry } from './registry-log.js';
import { registrySecret, writeRegistryConfig, type RegistryConfigInput } from './registry-config.js';
import { isAddressInUse, launchRegistry, probe } from './registry-process.js';
import { prepareAuth, type PreparedAuth } from './registry-auth.js';
import type { JwtAlgorithm } from './signing-key.js';
import type { RunningTokenServer } from './token-server.js';
import { tempDir } from './tmp.js';

export type RegistryAuthMode = 'none' | 'basic' | 'token';

export interface RunningRegistry {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly configPath: string;
  readonly auth: RegistryAuthMode;
  readonly credentials?: { username: string; password: string };
  /** The token server of an `auth: 'token'` registry (stopped and started with it). */
  readonly tokenServer?: RunningTokenServer;
  /** pid of the running docker-registry process; undefined while stopped. */
  readonly pid: number | undefined;
  /** Every request served so far (the kit's own probes/read-backs/pushes left out unless includeInternal). */
  requests(opts?: { includeInternal?: boolean }): RegistryLogEntry[];
  /** Matching requests so far; call `await settle()` first when the request just completed. */
  countRequests(method: string, path: string | RegExp): number;
  /** Forgets the requests logged so far. */
  resetRequests(): void;
  /** Waits until every request the registry has answered so far is in requests(). */
  settle(): Promise<void>;
  /** Waits until a matching request has been logged (default timeout 10 s). */
  waitForRequest(method: string, path: string | RegExp, timeoutMs?: number): Promise<void>;
  /** The last raw output lines of the registry. */
  logTail(): string[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface StartRegistryOptions {
  auth?: RegistryAuthMode;
  username?: string;
  password?: string;
  dataDir?: string;
  port?: number;
  deleteEnabled?: boolean;
  /** token mode: callers without credentials get pull tokens (Docker Hub style). Default false. */
  anonymousPull?: boolean;
  /** token mode: lifetime of issued tokens in seconds (default 300). */
  tokenTtlSeconds?: number;
  /** token mode: JWT algorithm (default RS256). */
  tokenAlg?: JwtAlgorithm;
  /** token mode: the JWT header names the key by `x5c` (default) or libtrust `kid`. */
  tokenKeyHint?: 'x5c' | 'kid';
  /**
   * token mode: the realm the registry names in its challenge, made from the token server's URL
   * — e.g. a fault proxy in front of it, so a test can make the token server fail. Default: the token server itself.
   */
  tokenRealm?: (tokenServerUrl: string) => string | Promise<string>;
}

/** Launches on cfg.port; when the port was not chosen by the caller and is taken, retries on another. */
async function launchWithRetry(dir: string, cfg: RegistryConfigInput, log: AccessLog, fixedPort: boolean): Promise<{ proc: ManagedProcess; configPath: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const configPath = await writeRegistryConfig(dir, cfg);
    try {
      return { proc: await launchRegistry(configPath, cfg.port, log), configPath };
    } catch (error) {
      if (fixedPort || attempt >= 5 || !isAddressInUse(error)) throw error;
      cfg.port = await freePort();
    }
  }
}

let syncCounter = 0;

/** Sends a marked probe and waits for its access log line: everything answered before it is logged by then. */
async function settleLog(port: number, log: AccessLog, running: boolean): Promise<void> {
  if (!running) return;
  syncCounter += 1;
  const marker = `/v2/?testkit-sync=${process.pid}-${syncCounter}`;
  const logged = log.waitFor((entry) => entry.uri === marker && entry.userAgent === TESTKIT_USER_AGENT, 10_000);
  await probe(port, marker);
  await logged;
}

/** Starts a docker-registry on 127.0.0.1 (see StartRegistryOptions); stop() it when done. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const mode = opts.auth ?? 'none';
  const dir = await tempDir(`registry-${mode}`);
  const cfg: RegistryConfigInput = {
    port: opts.port ?? (await freePort()),
    dataDir: opts.dataDir ?? join(dir, 'data'),
    deleteEnabled: opts.deleteEnabled ?? true,
    auth: { kind: 'none' },
    secret: registrySecret(),
  };
  const prepared = await prepareAuth(dir, mode, opts);
  cfg.auth = prepared.config;
  const log = accessLog();
  try {
    const launched = await launchWithRetry(dir, cfg, log, opts.port !== undefined);
    return registryHandle({ mode, cfg, log, prepared, ...launched });
  } catch (error) {
    await prepared.tokenServer?.stop();
    throw error;
  }
}

function registryHandle(parts: { mode: RegistryAuthMode; cfg: RegistryConfigInput; log: AccessLog; prepared: PreparedAuth; proc: ManagedProcess; configPath: string }): RunningRegistry {
  const { cfg, log, prepared, configPath } = parts;
  let proc: ManagedProcess | undefined = parts.proc;
  const count = (method: string, path: string | RegExp): number => log.entries().filter((e) => entryMatches(e, method, path)).length;
  return {
    url: `http://127.0.0.1:${cfg.port}`,
    host: `127.0.0.1:${cfg.port}`,
    port: cfg.port,
    dataDir: cfg.dataDir,
    configPath,
    auth: parts.mode,
    credentials: prepared.credentials,
    tokenServer: prepared.tokenServer,
    get pid() {
      return proc?.isRunning() === true ? proc.pid : undefined;
    },
    requests: (opts) => log.entries(opts),
    countRequests: count,
    resetRequests: () => log.reset(),
    settle: () => settleLog(cfg.port, log, proc?.isRunning() === true),
    waitForRequest: (method, path, timeoutMs = 10_000) => log.waitFor((e) => !isInternal(e) && entryMatches(e, method, path), timeoutMs),
    logTail: () => log.tail(),
    async stop() {
      const current = proc;
      proc = undefined;
      await current?.stop(5000);
      await prepared.tokenServer?.stop();
    },
    async start() {
      if (proc?.isRunning() === true) return;
      await prepared.tokenServer?.start();
      proc = await launchRegistry(configPath, cfg.port, log);
    },
  };
}
