/**
 * Repository patterns: which repositories an upstream's policy allows or denies
 * (`upstreams[].repositories` in proxy-core's config). A pattern is a repository name whose
 * components may hold wildcards:
 *
 *   library/alpine     that repository only
 *   library/*          every repository one level under library/ (`*` never crosses a `/`)
 *   myorg/**           everything under myorg/, at any depth (`**` is one or more whole
 *                      components, and may stand first or between others too)
 *   myorg/app-*        components may mix `*` with the name grammar's characters
 *
 * Each component must read as a name component with `*` standing for letters (so `a..b`,
 * `-x` and upper case are refused, as in names), or be `**` alone. Patterns are matched
 * against the repository as the upstream knows it; for Docker Hub that means `library/`
 * for official images, and `normalizeDockerHubPattern` gives a one-component pattern that
 * prefix, as `normalizeDockerHubName` does for names.
 */
import { MAX_NAME_LENGTH, type RepositoryName } from './names.js';
import { err, ok, type Result } from './result.js';

export type RepositoryPattern = string & { readonly __brand: 'RepositoryPattern' };

/** The name-component grammar with `*` counted as a letter. */
const WILD_COMPONENT = /^[a-z0-9*]+(?:(?:\.|_|__|-+)[a-z0-9*]+)*$/;
const NAME_CHARS = '[a-z0-9._-]';

export function parseRepositoryPattern(input: string): Result<RepositoryPattern> {
  if (typeof input !== 'string' || input.length === 0) return err('NAME_INVALID', 'invalid repository pattern: empty');
  if (input.length > MAX_NAME_LENGTH) return err('NAME_INVALID', `invalid repository pattern: longer than ${MAX_NAME_LENGTH} characters`);
  for (const component of input.split('/')) {
    if (component === '**') continue;
    if (component.includes('**')) return err('NAME_INVALID', `invalid repository pattern "${input}": ** must be a whole component (a/**/b)`);
    if (!WILD_COMPONENT.test(component)) {
      return err('NAME_INVALID', `invalid repository pattern "${input}": "${component}" is not a name component (lower-case letters, digits, . _ -, and * as a wildcard)`);
    }
  }
  return ok(input as RepositoryPattern);
}

/** Docker Hub's implicit namespace for a one-component pattern: `alpine` → `library/alpine`, `*` → `library/*`. */
export function normalizeDockerHubPattern(pattern: RepositoryPattern): RepositoryPattern {
  return pattern.includes('/') || pattern === '**' ? pattern : (`library/${pattern}` as RepositoryPattern);
}

function componentSource(component: string): string {
  if (component === '**') return `${NAME_CHARS}+(?:/${NAME_CHARS}+)*`;
  return component.replace(/\./g, '\\.').replace(/\*/g, `${NAME_CHARS}*`);
}

/** One test for a list of patterns: whether a name matches any of them. An empty list matches nothing. */
export function repositoryMatcher(patterns: readonly RepositoryPattern[]): (name: RepositoryName) => boolean {
  if (patterns.length === 0) return () => false;
  const alternatives = patterns.map((pattern) => pattern.split('/').map(componentSource).join('/'));
  const regex = new RegExp(`^(?:${alternatives.join('|')})$`);
  return (name) => regex.test(name);
}
