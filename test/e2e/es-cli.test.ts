import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeDir } from '../harness/process.js';
import { startSearch, type SearchServer } from '../harness/search.js';

/**
 * `drctl check es` as a user runs it: the built bin/drctl.js (run `npm run build` first) against
 * two real OpenSearch nodes, a port nobody listens on, and a tiny server that answers 401.
 * Exit codes and messages are asserted, and no secret may appear in any output.
 */

const SECRET = 'Sup3r-S3cret-pw';

async function drctl(args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', ['bin/drctl.js', 'check', 'es', ...args], {
    reject: false,
    env: { ...env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  const all = `${r.stdout}\n${r.stderr}`;
  expect(all).not.toContain(SECRET);
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

async function put(url: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(url + path, {
    method: path.includes('_bulk') ? 'POST' : 'PUT',
    headers: { 'content-type': path.includes('_bulk') ? 'application/x-ndjson' : 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

describe('drctl check es (built CLI)', () => {
  let main: SearchServer;
  let dr: SearchServer;
  let unauthorized: Server;
  let unauthorizedUrl: string;

  beforeAll(async () => {
    [main, dr] = await Promise.all([startSearch('opensearch'), startSearch('opensearch')]);
    const mapping = { mappings: { properties: { at: { type: 'date' }, n: { type: 'long' } } } };
    for (const s of [main, dr]) await put(s.url, '/ledger', mapping);
    const docs = (ids: number[]) =>
      ids.map((i) => `{"index":{"_id":"${i}"}}\n{"n":${i},"at":"2026-11-21T00:00:00Z"}\n`).join('');
    await put(main.url, '/ledger/_bulk?refresh=true', docs([1, 2, 3, 4, 5]));
    await put(dr.url, '/ledger/_bulk?refresh=true', docs([1, 2, 3, 5]));
    unauthorized = createServer((_req, res) => {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': 'Basic realm="security"',
      });
      res.end('{"error":{"type":"security_exception","reason":"unable to authenticate user"},"status":401}');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => unauthorized.listen(port, '127.0.0.1', resolve));
    unauthorizedUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await Promise.all([main?.stop(), dr?.stop()]);
    await new Promise((resolve) => unauthorized?.close(resolve));
  });

  it('exits 0 when consistent and 1 with the missing document, never showing the URL password', async () => {
    const withPw = main.url.replace('http://', `http://ops:${SECRET}@`);
    const same = await drctl(['--source', withPw, '--target', main.url, '--index', 'ledger']);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('consistent');
    const diff = await drctl(['--source', withPw, '--target', dr.url, '--index', 'ledger', '--json']);
    expect(diff.code).toBe(1);
    const json = JSON.parse(diff.stdout) as { status: string; findings: { kind: string; object: string }[] };
    expect(json.status).toBe('different');
    expect(json.findings).toEqual([expect.objectContaining({ kind: 'missing', object: 'ledger/4' })]);
  });

  it('takes the endpoints from an es resource of a runbook (--resource -f)', async () => {
    const dir = makeTempDir('es-runbook');
    const file = join(dir, 'runbook.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: es-check-e2e',
        'roles: { MW-SRE: {} }',
        'resources:',
        '  search:',
        '    kind: es',
        '    source: { url: "${env:ES_MAIN}", username: ops, password: "${env:ES_MAIN_PASSWORD}" }',
        '    target: { url: "${env:ES_DR}" }',
        'steps:',
        '  - id: verify-search',
        '    owner: MW-SRE',
        '    check: { kind: es, resource: search, index: ledger }',
        '',
      ].join('\n'),
    );
    const r = await drctl(['--resource', 'search', '-f', file, '--index', 'ledger'], {
      ES_MAIN: main.url,
      ES_DR: dr.url,
      ES_MAIN_PASSWORD: SECRET,
    });
    removeDir(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/missing\s+ledger\/4/);
  });

  it('exits 2 for an unreachable cluster', async () => {
    const port = await freePort();
    const r = await drctl([
      '--source',
      `http://ops:${SECRET}@127.0.0.1:${port}`,
      '--target',
      dr.url,
      '--index',
      'ledger',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach the source cluster at http:\/\/127\.0\.0\.1:\d+\/?: ECONNREFUSED/);
    expect(r.stderr).toContain('hint:');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  });

  it('exits 2 for wrong credentials, from the environment or an auth file', async () => {
    const r = await drctl(['--source', main.url, '--target', unauthorizedUrl, '--index', 'ledger'], {
      DRCTL_ES_TARGET_USER: 'ops',
      DRCTL_ES_TARGET_PASSWORD: SECRET,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the target cluster .* rejected the credentials \(HTTP 401\)/);
    const file = join(makeTempDir('es-auth'), 'dr.auth');
    writeFileSync(file, `# DR read-only user\nops:${SECRET}\n`, { mode: 0o600 });
    const f = await drctl([
      '--source',
      main.url,
      '--target',
      unauthorizedUrl,
      '--target-auth-file',
      file,
      '--index',
      'ledger',
      '--json',
    ]);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/rejected the credentials/);
    removeDir(dirname(file));
  });

  it('exits 2 for an index pattern matching nothing and a time field that does not exist', async () => {
    const none = await drctl(['--source', main.url, '--target', dr.url, '--index', 'no-such-*']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/index pattern no-such-\* matches no open index on the source cluster/);
    const field = await drctl([
      '--source',
      main.url,
      '--target',
      dr.url,
      '--index',
      'ledger',
      '--since',
      '1d',
      '--time-field',
      'created',
    ]);
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/time field created does not exist in index ledger/);
    const bad = await drctl(['--source', 'not a url', '--target', dr.url, '--index', 'ledger']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--source is not a URL/);
  });

  it('compares only the window given by --since', async () => {
    const r = await drctl([
      '--source',
      main.url,
      '--target',
      dr.url,
      '--index',
      'ledger',
      '--since',
      '2026-11-22T00:00:00Z',
      '--time-field',
      'at',
    ]);
    // Nothing changed inside the window, but ids are compared outside it too: the document
    // missing on DR (written before the window) is not hidden by --since.
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /missing\s+ledger\/4: on the source, not on the target \(outside the --since window\)/,
    );
    expect(r.stdout).toContain('0 source docs: 1 missing');
  });

  it('says in --help what is compared', async () => {
    const r = await execa('node', ['bin/drctl.js', 'check', 'es', '--help'], { reject: false });
    expect(r.stdout).toMatch(/Compared: per index: mappings/);
    expect(r.stdout).toMatch(/closed or hidden indices matched only by a wildcard/);
    expect(r.stdout).toMatch(/--request-timeout <duration>/);
  });

  it('a frozen (SIGSTOPped) DR node: exit 2 naming the target within --request-timeout; Ctrl-C exits 130 at once', async () => {
    dr.freeze();
    try {
      let t = Date.now();
      const r = await drctl([
        '--source',
        main.url,
        '--target',
        dr.url,
        '--index',
        'ledger',
        '--request-timeout',
        '2s',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/the target cluster at http:\/\/127\.0\.0\.1:\d+ did not answer .* within 2s/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(Date.now() - t).toBeLessThan(15_000);

      const child = execa(
        'node',
        ['bin/drctl.js', 'check', 'es', '--source', main.url, '--target', dr.url, '--index', 'ledger'],
        {
          reject: false,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 2500));
      t = Date.now();
      child.kill('SIGINT');
      const done = await child;
      expect(done.exitCode).toBe(130);
      expect(Date.now() - t).toBeLessThan(2_000);
    } finally {
      dr.thaw();
    }
  });
});
