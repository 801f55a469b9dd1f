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

  it('refuses unix: without a path (it would be the working directory), naming the key', () => {
    expect(() => parseListen('unix:', 'admin.listen')).toThrow('admin.listen: unix: needs a socket path, e.g. unix:/run/regcache/admin.sock');
  });

  it('takes any 127.0.0.0/8 address, localhost and ::1 for the admin API, and refuses others', () => {
    for (const listen of ['127.0.0.2:5001', '127.1.2.3:5001', 'localhost:5001', 'LOCALHOST:5001', '[::1]:5001']) {
      expect(adminEndpoint(parseConfig({ admin: { listen } })).kind, listen).toBe('tcp');
    }
    for (const listen of ['0.0.0.0:5001', '10.0.0.1:5001', '[::]:5001', '127.example.com:5001']) {
      expect(() => adminEndpoint(parseConfig({ admin: { listen } })), listen).toThrow('only on a unix socket or a loopback address');
    }
  });

  it('says how to fix a default admin socket that the data directory makes too long', () => {
    const config = parseConfig({ storage: { path: `/${'d'.repeat(120)}` } });
    expect(() => adminEndpoint(config)).toThrow('set admin.listen, e.g. unix:/run/regcache/admin.sock');
    expect(adminEndpoint(parseConfig({ storage: { path: `/${'d'.repeat(120)}` }, admin: { listen: 'unix:/run/regcache/admin.sock' } }))).toEqual({ kind: 'unix', path: '/run/regcache/admin.sock' });
  });
});
