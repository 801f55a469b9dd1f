/**
 * A JSON object read from bytes an upstream sent (a manifest, an image config, a token
 * response), or undefined for anything else — invalid JSON, an array, a scalar. Each caller
 * then reads the fields it knows, checking their types.
 */
export function jsonObject(text: string | Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
