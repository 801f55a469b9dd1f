/**
 * Admin API request bodies to operation options. Sizes and ages may be numbers (bytes,
 * milliseconds) or strings with units (`50GiB`, `30d`); anything else is an
 * OperationInputError naming the field.
 */
import type { GcOptions } from './gc.js';
import { optionalBoolean, type JsonObject } from './admin-io.js';
import { OperationInputError } from './operation-errors.js';
import { lacksUnit, parseDurationMs, parseSizeBytes } from './units.js';
import type { ExpireOptions } from './expire.js';
import type { RemoveOptions } from './remove.js';
import type { VerifyOptions } from './verify.js';
import type { WarmOptions } from './warm.js';

function size(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && lacksUnit(value)) throw new OperationInputError(`"${key}": "${value}" has no unit: give one (50GiB, 512MB, 0B), or a JSON number of bytes`);
  const bytes = typeof value === 'string' ? parseSizeBytes(value) : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (bytes === undefined) throw new OperationInputError(`"${key}" must be a size such as 50GiB or a number of bytes`);
  return bytes;
}

function age(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && lacksUnit(value)) throw new OperationInputError(`"${key}": "${value}" has no unit: give one (30d, 12h), or a JSON number of milliseconds`);
  const ms = typeof value === 'string' ? parseDurationMs(value) : typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
  if (ms === undefined || ms <= 0) throw new OperationInputError(`"${key}" must be a duration such as 30d or a number of milliseconds`);
  return ms;
}

export function gcRequest(body: JsonObject): GcOptions {
  return { maxSize: size(body, 'maxSize'), maxAge: age(body, 'maxAge'), dryRun: optionalBoolean(body, 'dryRun') };
}

export function verifyRequest(body: JsonObject): VerifyOptions {
  const sample = body.sample;
  if (sample !== undefined && sample !== null && !(typeof sample === 'number' && Number.isSafeInteger(sample) && sample > 0)) {
    throw new OperationInputError('"sample" must be a positive whole number');
  }
  return { sample: typeof sample === 'number' ? sample : undefined, repair: optionalBoolean(body, 'repair') };
}

/** Longest image reference taken (a 255-character name, a registry host and a digest fit well inside). */
const MAX_REFERENCE_LENGTH = 1024;

/** The list of references; an entry that cannot be one is named by its place and why. */
function imageList(body: JsonObject): string[] {
  const { images } = body;
  if (!Array.isArray(images)) throw new OperationInputError('"images" must be a non-empty list of image references');
  return checkImageList(images);
}

/**
 * The same rule for every caller — the admin API, and regcache-admin working on a store
 * directly — so an entry that cannot be an image reference is refused in the same words.
 */
export function checkImageList(images: readonly unknown[]): string[] {
  if (images.length === 0) throw new OperationInputError('"images" must be a non-empty list of image references');
  images.forEach((image: unknown, i) => {
    const which = images.length === 1 ? 'the image reference' : `image reference ${i + 1} of ${images.length}`;
    if (typeof image !== 'string') throw new OperationInputError(`${which} must be a string`);
    if (image.trim() === '') throw new OperationInputError(`${which} is empty`);
    if (image.length > MAX_REFERENCE_LENGTH) throw new OperationInputError(`${which} is ${image.length} characters long; a repository name is at most 255`);
  });
  return images as string[];
}

export function warmRequest(body: JsonObject): WarmOptions {
  const images = imageList(body);
  const { platform } = body;
  if (platform !== undefined && platform !== null && typeof platform !== 'string') throw new OperationInputError('"platform" must be a string such as linux/arm64');
  return { images, platform: typeof platform === 'string' ? platform : undefined };
}

export function removeRequest(body: JsonObject): RemoveOptions {
  return { images: imageList(body), allTags: optionalBoolean(body, 'allTags'), purge: optionalBoolean(body, 'purge'), dryRun: optionalBoolean(body, 'dryRun') };
}

export function expireRequest(body: JsonObject): ExpireOptions {
  return { images: imageList(body), allTags: optionalBoolean(body, 'allTags') };
}
