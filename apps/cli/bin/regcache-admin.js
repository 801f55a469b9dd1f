#!/usr/bin/env node
// The `regcache-admin` bin: runs the built admin CLI (npm run build first).
import('../dist/main.js').catch((err) => {
  console.error(`regcache-admin: cannot load the built CLI (${err.message}); run "npm run build" first`);
  process.exit(1);
});
