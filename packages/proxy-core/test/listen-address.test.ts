/**
 * Listen addresses, parsed once: HOST:PORT or a unix socket path — and a unix path longer than
 * Linux binds is refused naming its key (Node would bind it cut short, somewhere else).
 */
import { describe, expect, it } from 'vitest';
import { adminEndpoint, ConfigError, parseConfig, parseListen } from '../src/index.js';
import { UNIX_PATH_MAX } from '../src/listen-address.js';

describe('parseListen', () => {
  it('reads HOST:PORT, [v6]:PORT, :PORT and unix paths', () => {
    expect(parseListen('127.0.0.1:5000', 'listen')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5000 });
    expect(parseListen('[::1]:5000', 'listen')).toEqual({ kind: 'tcp', host: '::1', port: 5000 });
    expect(parseListen(':5000', 'listen')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 5000 });
    expect(parseListen('unix:/run/regcache.sock', 'listen')).toEqual({ kind: 'unix', path: '/run/regcache.sock' });
  });

  it(`takes a unix path of ${UNIX_PATH_MAX} bytes and refuses a longer one, naming the key`, () => {
    const longest = `/${'a'.repeat(UNIX_PATH_MAX - 1)}`;
    expect(parseListen(`unix:${longest}`, 'listen')).toEqual({ kind: 'unix', path: longest });
    const error = (() => {
      try {
        return parseListen(`unix:${longest}b`, 'admin.listen');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`admin.listen: the socket path ${longest}b is ${UNIX_PATH_MAX + 1} bytes`);
  });

  it('says how to fix a default admin socket that the data directory makes too long', () => {
    const config = parseConfig({ storage: { path: `/${'d'.repeat(120)}` } });
    expect(() => adminEndpoint(config)).toThrow('set admin.listen, e.g. unix:/run/regcache/admin.sock');
    expect(adminEndpoint(parseConfig({ storage: { path: `/${'d'.repeat(120)}` }, admin: { listen: 'unix:/run/regcache/admin.sock' } }))).toEqual({ kind: 'unix', path: '/run/regcache/admin.sock' });
  });
});
