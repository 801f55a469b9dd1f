/**
 * Errors of the admin operations (gc, verify, ls, warm). They say what was wrong in the
 * operator's terms; the admin API maps them to a status, the CLI to an exit code.
 */

/** A bad argument: a size, an age, an image reference, a platform, a filter. */
export class OperationInputError extends Error {
  override readonly name = 'OperationInputError';
}

/** Something the operation needs is not available here (e.g. warm without a registry handler). */
export class OperationUnavailableError extends Error {
  override readonly name = 'OperationUnavailableError';
}
