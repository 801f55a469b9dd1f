/**
 * Platforms for `warm --platform`, read the way containerd reads them (its platforms package:
 * `Normalize`, and the exact matcher `NewMatcher` / `OnlyStrict` — not `Only`, which would
 * also take older variants and 386 for amd64: warm fetches the one platform asked for).
 * Both sides are normalised before they are compared: names in lower case, architecture
 * aliases (aarch64 → arm64, x86_64 and x86-64 → amd64, i386 → 386, armhf → arm/v7,
 * armel → arm/v6), and each architecture's default variant spelt one way — arm64's v8 and
 * amd64's v1 are left out (`linux/arm64/v8` is `linux/arm64`), arm's v7 is written
 * (`linux/arm` is `linux/arm/v7`).
 */
import type { Platform } from '@regcache/registry-protocol';
import { OperationInputError } from './operation-errors.js';
import { jsonObject } from './json-object.js';
import { WarmFetchError } from './warm-client.js';

/** An alias and what it stands for; `variant` when the alias also fixes the variant. */
const ARCH_ALIASES: ReadonlyMap<string, { architecture: string; variant?: string }> = new Map([
  ['aarch64', { architecture: 'arm64' }],
  ['x86_64', { architecture: 'amd64' }],
  ['x86-64', { architecture: 'amd64' }],
  ['i386', { architecture: '386', variant: '' }],
  ['armhf', { architecture: 'arm', variant: 'v7' }],
  ['armel', { architecture: 'arm', variant: 'v6' }],
]);

/** Per architecture, variant spellings → the one kept ('' = no variant). */
const VARIANT_SPELLINGS: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map([
  ['amd64', new Map([['v1', '']])],
  ['arm64', new Map([['8', ''], ['v8', '']])],
  ['arm', new Map([['', 'v7'], ['5', 'v5'], ['6', 'v6'], ['7', 'v7'], ['8', 'v8']])],
]);

/** containerd's specifier components: no spaces, no further slashes. */
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

/** The canonical form of a platform; two platforms are the same when their canonical forms are equal. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  const named = p.architecture.toLowerCase();
  const alias = ARCH_ALIASES.get(named);
  const architecture = alias?.architecture ?? named;
  const given = alias?.variant ?? (p.variant ?? '').toLowerCase();
  const variant = VARIANT_SPELLINGS.get(architecture)?.get(given) ?? given;
  return variant === '' ? { os, architecture } : { os, architecture, variant };
}

/** `os/arch[/variant]` as the operator wrote it (flag or admin API), normalised; OperationInputError when it is not one. */
export function parsePlatform(value: string): Platform {
  const parts = value.split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((part) => COMPONENT.test(part))) {
    throw new OperationInputError(`--platform must be os/arch or os/arch/variant (e.g. linux/arm64), not "${value}"`);
  }
  const [os = '', architecture = '', variant] = parts;
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** Whether `have` (an index entry's or a config's platform) is `want` (from parsePlatform). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (have === undefined) return false;
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  return a.os === b.os && a.architecture === b.architecture && a.variant === b.variant;
}

export function platformName(p: Platform | undefined): string {
  if (p === undefined) return 'unknown';
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

/** The platform an image config states (`os`, `architecture`, `variant`); undefined when it states none. */
export function configPlatform(bytes: Buffer): Platform | undefined {
  const config = jsonObject(bytes);
  if (config === undefined) return undefined;
  const { os, architecture, variant } = config;
  if (typeof os !== 'string' || os === '' || typeof architecture !== 'string' || architecture === '') return undefined;
  return typeof variant === 'string' && variant !== '' ? { os, architecture, variant } : { os, architecture };
}

/** A single-platform image (no index to choose from) is not the platform warm was asked for. */
export class WarmPlatformMismatchError extends WarmFetchError {
  constructor(
    readonly image: string,
    readonly platform: Platform,
    readonly wanted: Platform,
  ) {
    // Reported beside the image's name (`failed: IMAGE: …`): the message does not repeat it.
    super(`the image is ${platformName(platform)}, not ${platformName(wanted)}`);
  }
}
