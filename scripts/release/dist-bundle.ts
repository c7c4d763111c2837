import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, bundleEsm } from './bundle.js';

/**
 * `npm run build`, after tsc: src/cli/main.ts bundled as release/drctl.mjs is, into
 * dist/bundle/main.mjs + chunks/, which bin/drctl.js imports when it is newer than the compiled
 * dist/src/cli/main.js. Node then reads one file and the chunks of the command it runs instead of
 * resolving, reading and compiling some 900 modules (issue 19: ~0.1–0.3 s of CPU per command).
 */
const out = join(ROOT, 'dist', 'bundle');
rmSync(out, { recursive: true, force: true });
await bundleEsm(out, { main: join(ROOT, 'src', 'cli', 'main.ts') });
