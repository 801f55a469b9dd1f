import { createServer } from 'node:net';

/** Binds 127.0.0.1:0, reads the port the kernel chose, closes, and returns it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: no TCP address'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}
