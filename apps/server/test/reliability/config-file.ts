/** A config file for the real server, written as JSON (the YAML loader reads it). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@regcache/testkit';

export async function writeConfig(config: Record<string, unknown>): Promise<string> {
  const path = join(await tempDir('reliability-config'), 'regcache.json');
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}
