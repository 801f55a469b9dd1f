/** What the CLI reports and how it exits: 2 for a bad argument or config, 1 for anything else. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** A running server that does not answer properly (stuck, broken, not regcache). */
export class ServerError extends CliError {
  override readonly name = 'ServerError';
  constructor(message: string) {
    super(message, 1);
  }
}
