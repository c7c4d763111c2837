import { defineConfig } from 'vitest/config';

// Integration tests start real servers (MariaDB, Redis, Ceph, OpenSearch, Elasticsearch);
// the machine has 2 cores, so files run two at a time and get generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file gets its own host lock directory (DRCTL_LOCK_DIR).
    // Every fast-check property runs from a fixed seed (test/harness/prop-seed.ts).
    setupFiles: ['test/harness/lock-dir.ts', 'test/harness/prop-seed.ts'],
    // Search servers shared by the read-only suites of one run (test/harness/shared-servers.ts).
    globalSetup: ['test/harness/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 240_000,
    reporters: ['default'],
  },
});
