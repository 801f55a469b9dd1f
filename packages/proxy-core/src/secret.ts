/**
 * A credential that cannot leak by accident: it prints, stringifies and logs as
 * `[REDACTED]` (console, util.inspect, JSON.stringify, pino). Only `reveal()` gives the value,
 * and only the upstream client calls it, when it builds an Authorization header.
 */
export interface Secret {
  reveal(): string;
  toString(): string;
  toJSON(): string;
}

const REDACTED = '[REDACTED]';

export function createSecret(value: string): Secret {
  const secret = {
    reveal: () => value,
    toString: () => REDACTED,
    toJSON: () => REDACTED,
    [Symbol.for('nodejs.util.inspect.custom')]: () => REDACTED,
  };
  return Object.freeze(secret);
}

export function isSecret(value: unknown): value is Secret {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { reveal?: unknown }).reveal === 'function' &&
    String(value) === REDACTED
  );
}
