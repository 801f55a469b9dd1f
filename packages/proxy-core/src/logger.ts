/**
 * Libraries take an injected logger; only the apps create pino. The shape is pino's
 * (`logger.info(obj, msg)`), so a pino instance can be passed as it is.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's: lets a hot path skip building a record nobody will write. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => undefined;

export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
