/** Shared by the config tests: a config file in a temp dir, and the issues a ConfigError lists. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tempDir } from '@regcache/testkit';
import { ConfigError, parseConfig } from '../src/index.js';

/** Writes `content` to `name` in a fresh temp dir (removed when the test process exits). */
export async function configFile(name: string, content: string): Promise<string> {
  const path = join(await tempDir('config'), name);
  await writeFile(path, content);
  return path;
}

const described = (error: ConfigError): string[] => error.issues.map((i) => `${i.path}: ${i.message}`);

/** `path: message` of each issue of the ConfigError `loading` rejects with; fails the test if it resolves. */
export async function loadIssues(loading: Promise<unknown>): Promise<string[]> {
  try {
    await loading;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return described(error as ConfigError);
  }
  throw new Error('expected a ConfigError');
}

/** `path: message` of each issue parseConfig finds in `input`; [] when it takes it. */
export function parseIssues(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return described(error);
    throw error;
  }
  return [];
}
