/**
 * Raw TCP clients for the slow-client tests: nothing buffers or normalises what they send, and
 * they report exactly when the server closed the connection and what it answered.
 */
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  readonly socket: Socket;
  /** Resolves when the server closes: after how many ms, with everything it sent. */
  readonly closed: Promise<{ afterMs: number; received: string }>;
  /** Writes `text` one byte every `intervalMs` until done or the connection closes. */
  trickle(text: string, intervalMs: number): Promise<void>;
}

export function rawConnect(address: string): Promise<RawConnection> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => {
      const started = Date.now();
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined);
      const closed = new Promise<{ afterMs: number; received: string }>((done) => {
        socket.once('close', () => done({ afterMs: Date.now() - started, received: Buffer.concat(chunks).toString('latin1') }));
      });
      resolve({ socket, closed, trickle: (text, intervalMs) => trickle(socket, text, intervalMs) });
    });
    socket.once('error', reject);
  });
}

async function trickle(socket: Socket, text: string, intervalMs: number): Promise<void> {
  for (const char of text) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(char);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
