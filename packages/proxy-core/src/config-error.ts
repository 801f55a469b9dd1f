/**
 * Bad configuration as the apps report it (exit code 2, never a stack trace): each issue names
 * its key path (`upstreams.0.url`) and, when the value came from the environment or a
 * command-line flag rather than the config file, that source too (`REGCACHE_LISTEN`, `--listen`).
 */
export interface ConfigIssue {
  path: string;
  message: string;
  /** The env var or flag the value came from; unset for the config file (or an embedder's object). */
  source?: string;
}

const line = (issue: ConfigIssue): string => `  ${issue.path || '(root)'}${issue.source === undefined ? '' : ` (from ${issue.source})`}: ${issue.message}`;

/** Bad configuration: each issue names its key path, and its env var or flag if it came from one. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map(line).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
