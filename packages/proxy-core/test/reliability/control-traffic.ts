/**
 * Other clients while a fault is on: one cached image pulled again and again (manifest by
 * digest, then every blob, each re-hashed). Every one of these pulls must succeed — a fault on
 * one upstream request must never disturb what the cache already holds.
 */
import { httpPull, type TinyImage } from '../images.js';

export interface ControlTraffic {
  stop(): Promise<{ pulls: number; failures: string[] }>;
}

export function startControlTraffic(base: string, image: TinyImage): ControlTraffic {
  let running = true;
  let pulls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const pulled = await httpPull(base, image.name, image.digest);
        if (pulled.status !== 200 || pulled.digest !== image.digest || pulled.blobs.length !== image.blobs.length) failures.push(`status ${pulled.status}`);
      } catch (error) {
        failures.push(String(error));
      }
      pulls += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { pulls, failures };
    },
  };
}
