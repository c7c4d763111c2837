import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/engine-cli.js';

/**
 * A port that accepts a connection and closes it at once (a dying node, a load balancer with no
 * backend): every checker must end with exit 2 naming the side, never hang and never leave node
 * with nothing pending (exit 13, no verdict and no message: 5 of 8 `check es` runs did that).
 */
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const ARGS: Record<string, (url: string) => string[]> = {
  es: (u) => [
    '--source',
    `http://${u}`,
    '--target',
    `http://${u}`,
    '--index',
    'x',
    '--request-timeout',
    '3s',
  ],
  s3: (u) => [
    '--source',
    's3://a',
    '--target',
    's3://b',
    '--source-endpoint',
    `http://${u}`,
    '--target-endpoint',
    `http://${u}`,
    '--request-timeout',
    '3s',
  ],
  redis: (u) => ['--source', `redis://${u}`, '--target', `redis://${u}`],
  mysql: (u) => ['--source', `mysql://dba:pw@${u}`, '--target', `mysql://dba:pw@${u}`],
};

describe('a server that closes every connection at once', () => {
  for (const [kind, args] of Object.entries(ARGS)) {
    it(`check ${kind}: exit 2 with a message, every time`, { timeout: 120_000 }, async () => {
      for (let i = 0; i < 4; i++) {
        const r = await runCli(['check', kind, ...args(`127.0.0.1:${port}`)], {
          AWS_ACCESS_KEY_ID: 'k',
          AWS_SECRET_ACCESS_KEY: 's',
        });
        expect(r.exitCode, `${kind} run ${i}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/error: /);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    });
  }
});
