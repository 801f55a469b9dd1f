/**
 * The TLS front: a client that trusts the test CA reaches the registry behind it over TLS (and
 * the registry's log counts the request); one that does not is refused at the handshake; the
 * certificate names 127.0.0.1 and is valid long past any test run.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startRegistry, startTlsFront, TEST_CA_PEM, type RunningRegistry, type TlsFront } from '../src/index.js';
import { TEST_SERVER_CERT_PEM } from '../src/tls-fixtures.js';

describe('startTlsFront', () => {
  let registry: RunningRegistry;
  let front: TlsFront;

  beforeAll(async () => {
    registry = await startRegistry();
    front = await startTlsFront(registry.url);
  }, 60_000);

  afterAll(async () => {
    await front?.stop();
    await registry?.stop();
  });

  it('passes a request through to the registry for a client that trusts the test CA', async () => {
    registry.resetRequests();
    const dispatcher = new Agent({ connect: { ca: TEST_CA_PEM } });
    try {
      const res = await request(`${front.url}/v2/`, { dispatcher, headers: { 'user-agent': 'tls-front-test' } });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({});
    } finally {
      await dispatcher.close();
    }
    await registry.settle();
    expect(registry.countRequests('GET', '/v2/')).toBe(1);
    expect(front.connections()).toBeGreaterThanOrEqual(1);
  });

  it('is refused by a client that does not trust the test CA', async () => {
    const dispatcher = new Agent();
    try {
      await expect(request(`${front.url}/v2/`, { dispatcher })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    } finally {
      await dispatcher.close();
    }
  });

  it('presents a certificate for 127.0.0.1 from the test CA, valid 2020–2120', () => {
    const ca = new X509Certificate(TEST_CA_PEM);
    const server = new X509Certificate(TEST_SERVER_CERT_PEM);
    expect(ca.ca).toBe(true);
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    expect([new Date(server.validFrom).getUTCFullYear(), new Date(server.validTo).getUTCFullYear()]).toEqual([2020, 2120]);
  });
});
