import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_EXTERNAL, ROOT, bundleCjs } from './bundle.js';

/**
 * `npm run build`, after tsc: src/cli/main.ts bundled into one CommonJS file,
 * dist/bundle/drctl.cjs, which bin/drctl.js runs (through bin/bundle-cache.js, with V8's code
 * cache) when it is newer than the compiled dist/src/cli/main.js. Node then reads one file instead
 * of resolving, reading and compiling some 900 modules, and from the second run of a command on
 * compiles almost nothing (issue 19). The AWS SDK, mysql2, ioredis and hono stay in node_modules,
 * loaded by the commands that use them. Rebuilding removes the caches of the previous bundle.
 */
const out = join(ROOT, 'dist', 'bundle');
rmSync(out, { recursive: true, force: true });
await bundleCjs(join(out, 'drctl.cjs'), join(ROOT, 'src', 'cli', 'main.ts'), DIST_EXTERNAL);
