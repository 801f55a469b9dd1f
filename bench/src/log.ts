/** Progress lines on stderr (stdout carries the table), stamped with seconds since start. */
const started = performance.now();

export function log(message: string): void {
  const elapsed = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${elapsed}s] ${message}\n`);
}
