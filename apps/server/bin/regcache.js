#!/usr/bin/env -S node --max-semi-space-size=1 --liftoff-only --expose-gc
// The `regcache` / `regcache-server` bin: runs the built server (npm run build first).
//
// The Node flags above are part of the server as shipped (the bench reads them from this line):
// - --max-semi-space-size=1: a 1 MiB young generation. A fill allocates a 64 KiB buffer per
//   upstream read; with V8's default 16 MiB semi-spaces those buffers wait for a scavenge in
//   the tens of MiB, and RSS during a 256 MiB fill grows by that much. Collections stay cheap.
// - --liftoff-only: undici parses HTTP in WebAssembly, and V8's optimising tier-up of that
//   parser, mid-fill, takes ~35 MiB of compiler memory that glibc never gives back.
// - --expose-gc: lets the server run a young-generation GC after every 4 MiB a fast fill writes
//   (proxy-core's fill/engine.ts, RECLAIM_BYTES), so those 64 KiB read buffers are freed as soon
//   as they are on disk instead of piling up to ≈ 20 MiB between V8's own collections.
// Together: peak RSS with 16 clients on a 256 MiB fill ≈ 95 MiB instead of ≈ 147 MiB.
import('../dist/main.js').catch((err) => {
  console.error(`regcache: cannot load the built server (${err.message}); run "npm run build" first`);
  process.exit(1);
});
