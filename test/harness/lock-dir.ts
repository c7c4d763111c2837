import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Host switch locks live in one directory per host (/run/lock/drctl by default). Tests run two
// files at once and other checkouts may run theirs beside them: each test file gets its own lock
// directory, inherited by every drctl it spawns, so same-named environments never collide.
// A test that wants another one passes DRCTL_LOCK_DIR to the process it spawns.
const dir = mkdtempSync(join(tmpdir(), 'drctl-test-locks-'));
process.env.DRCTL_LOCK_DIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
