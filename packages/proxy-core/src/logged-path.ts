/**
 * A request target as it goes into a log line: cut at `MAX_LOGGED_PATH`, and with the values
 * of query parameters the registry API does not define replaced by `…`. Clients put what they
 * like there — a mistyped `?password=`, a signed URL's signature — and logs travel further than
 * the process. The API's own parameters (`ns`, `n`, `last`) are kept: they say what was asked.
 */
const MAX_LOGGED_PATH = 512;
const KEPT = new Set(['ns', 'n', 'last']);

export function loggedPath(url: string): string {
  const query = url.indexOf('?');
  const shown = query < 0 ? url : url.slice(0, query + 1) + url.slice(query + 1).split('&').map(redactParameter).join('&');
  return shown.length > MAX_LOGGED_PATH ? `${shown.slice(0, MAX_LOGGED_PATH)}…` : shown;
}

function redactParameter(pair: string): string {
  const equals = pair.indexOf('=');
  if (equals < 0) return pair;
  return KEPT.has(pair.slice(0, equals)) ? pair : `${pair.slice(0, equals)}=…`;
}
