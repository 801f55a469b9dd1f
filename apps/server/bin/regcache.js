#!/usr/bin/env node
// The `regcache` / `regcache-server` bin: runs the built server (npm run build first).
import('../dist/main.js').catch((err) => {
  console.error(`regcache: cannot load the built server (${err.message}); run "npm run build" first`);
  process.exit(1);
});
