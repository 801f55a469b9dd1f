// Types for embed-frameworks.mjs (the tests import it).
import type { IncomingMessage, ServerResponse } from 'node:http';

interface HasHandler {
  handler(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function isRegistryPath(url: string): boolean;
export function expressRegistry(cache: HasHandler): (req: IncomingMessage, res: ServerResponse, next: () => void) => unknown;
export function fastifyRegistry(cache: HasHandler): (registry: import('fastify').FastifyInstance) => Promise<void>;
export function koaRegistry(cache: HasHandler): import('koa').Middleware;
