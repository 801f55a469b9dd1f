// Embedding regcache in another Node HTTP service, next to that service's own routes.
import http from 'node:http';
import { answerClientErrors, createRegistryCache, parseConfig } from '@regcache/proxy-core';

const cache = await createRegistryCache(
  parseConfig({
    storage: { path: process.env.DATA_DIR ?? './data' },
    upstreams: [{ name: 'docker.io', url: process.env.UPSTREAM_URL ?? 'https://registry-1.docker.io' }],
  }),
);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('my service is fine\n'); // the service's own route
  } else if (req.url?.startsWith('/v2')) {
    cache.handler(req, res); // the registry API: docker pull my-host:8080/library/alpine
  } else {
    res.statusCode = 404;
    res.end();
  }
});

answerClientErrors(server); // bytes after `Connection: close` no longer cut a blob short

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});

process.once('SIGTERM', () => server.close(() => cache.close()));
