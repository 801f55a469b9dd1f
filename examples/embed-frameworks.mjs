// Mounting regcache's handler in Express, Fastify and Koa. Each hands the registry's requests
// (/v2 and below) to the cache untouched: the path as the client sent it, the body unread, the
// response written by the cache alone (blob bodies by sendfile where the addon loads).

/** True for the registry API's paths: `/v2`, `/v2/…`, `/v2?…`. */
export function isRegistryPath(url) {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

/** Express 4 or 5: `app.use(expressRegistry(cache))`. Not `app.use('/v2', …)`: that strips `/v2` from req.url. */
export function expressRegistry(cache) {
  return (req, res, next) => (isRegistryPath(req.url) ? cache.handler(req, res) : next());
}

/**
 * Fastify: `app.register(fastifyRegistry(cache))`. Inside this plugin only, bodies are left
 * unread, so a push gets the registry's 405 UNSUPPORTED rather than Fastify's 415.
 */
export function fastifyRegistry(cache) {
  return async (registry) => {
    registry.removeAllContentTypeParsers();
    registry.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handle = (request, reply) => {
      reply.hijack();
      return cache.handler(request.raw, reply.raw);
    };
    registry.all('/v2', handle);
    registry.all('/v2/*', handle);
  };
}

/** Koa: `app.use(koaRegistry(cache))`; `ctx.respond = false` leaves the response to the cache. */
export function koaRegistry(cache) {
  return async (ctx, next) => {
    if (!isRegistryPath(ctx.url)) return next();
    ctx.respond = false;
    await cache.handler(ctx.req, ctx.res);
  };
}
