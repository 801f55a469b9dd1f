// Prints "<passed> <failed>" summed over every package's vitest JSON report.
// A package with a test script but no report (crashed, never ran) counts as one failure.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(group)) {
    const dir = join(group, name);
    const pkgFile = join(dir, 'package.json');
    if (!existsSync(pkgFile) || !JSON.parse(readFileSync(pkgFile, 'utf8')).scripts?.test) continue;
    const report = join(dir, 'reports', 'vitest.json');
    if (!existsSync(report)) {
      console.error(`${process.argv[2] ?? ''}: no test report for ${dir}`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests ?? 0;
    const failedTests = r.numFailedTests ?? 0;
    // A file that failed to load has no failed test but a failed suite.
    failed += failedTests > 0 ? failedTests : (r.numFailedTestSuites ?? 0);
    if ((r.numTotalTests ?? 0) === 0) failed += 1;
  }
}
console.log(`${passed} ${failed}`);
