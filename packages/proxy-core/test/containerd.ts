/**
 * A private containerd (Debian's 1.6) for one test: its own root, state and socket in a temp
 * dir, only the plugins a pull needs, and `ctr` pointed at it. A `hosts.toml` mirror sends
 * every pull for a registry host to regcache, which is how containerd (and Kubernetes nodes)
 * use a pull-through cache.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, spawnManaged, tempDir, type CommandResult } from '@regcache/testkit';

export interface RunningContainerd {
  readonly hostsDir: string;
  /** Writes `<hostsDir>/<registry>/hosts.toml` mirroring `registry` to `mirrorUrl`. */
  mirror(registry: string, mirrorUrl: string): Promise<void>;
  ctr(args: string[]): Promise<CommandResult>;
  stop(): Promise<void>;
}

/** Plugins a pull does not need; some of them want devices or kernel features a test machine lacks. */
const DISABLED = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.internal.v1.opt',
  'io.containerd.internal.v1.tracing',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

function configToml(dir: string, socket: string): string {
  return [
    'version = 2',
    `root = ${JSON.stringify(join(dir, 'root'))}`,
    `state = ${JSON.stringify(join(dir, 'state'))}`,
    `disabled_plugins = ${JSON.stringify(DISABLED)}`,
    '[grpc]',
    `  address = ${JSON.stringify(socket)}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '',
  ].join('\n');
}

export async function startContainerd(): Promise<RunningContainerd> {
  const dir = await tempDir('containerd');
  const socket = join(dir, 'containerd.sock');
  const hostsDir = join(dir, 'hosts.d');
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, configToml(dir, socket));
  const output: string[] = [];
  const proc = await spawnManaged('containerd', ['--config', configPath], { onLine: (line) => output.push(line) });
  const ctr = (args: string[]): Promise<CommandResult> => runCommand('ctr', ['--address', socket, '--namespace', 'regcache-test', ...args], { timeoutMs: 60_000 });
  try {
    await waitReady(ctr, output, proc.isRunning);
  } catch (error) {
    await proc.stop(2000);
    throw error;
  }
  return {
    hostsDir,
    async mirror(registry, mirrorUrl) {
      await mkdir(join(hostsDir, registry), { recursive: true });
      // containerd 1.6 ignores a hosts.toml holding only `server =`: the mirror must be a [host] section.
      const toml = [`[host.${JSON.stringify(mirrorUrl)}]`, '  capabilities = ["pull", "resolve"]', ''].join('\n');
      await writeFile(join(hostsDir, registry, 'hosts.toml'), toml);
    },
    ctr,
    stop: () => proc.stop(5000),
  };
}

async function waitReady(ctr: (args: string[]) => Promise<CommandResult>, output: string[], running: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && running()) {
    const version = await ctr(['version']);
    if (version.code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`containerd did not start:\n${output.slice(-20).join('\n')}`);
}
