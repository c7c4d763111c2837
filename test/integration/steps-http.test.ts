import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { RunbookError } from '../../src/errors.js';
import { loadRunbook } from '../../src/runbook/load.js';
import type { Action, Resource } from '../../src/runbook/schema.js';
import { execRunbook, type ExecRun } from '../fixtures/engine-exec.js';
import { makeRunbook, makeStep } from '../fixtures/engine-runbook.js';
import { makeTempDir } from '../harness/process.js';

/** http steps against local HTTP and HTTPS servers (a self-signed certificate made by openssl). */
interface Hit {
  server: string;
  path: string;
  headers: IncomingMessage['headers'];
}
const hits: Hit[] = [];
const servers: Server[] = [];
let main: string;
let other: string;
let secure: string;
let caPem: string;
const dir = makeTempDir('steps-http');

async function listen(name: string, server: Server, scheme: string): Promise<string> {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    hits.push({ server: name, path: req.url ?? '', headers: req.headers });
    const path = req.url ?? '';
    if (path === '/moved') res.writeHead(302, { location: '/target' }).end('moved');
    else if (path === '/target') res.writeHead(200).end('target reached');
    else if (path === '/elsewhere') res.writeHead(307, { location: `${other}/landing` }).end();
    else if (path === '/same-origin') res.writeHead(307, { location: '/landing' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${name}`);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  main = await listen('main', createServer(), 'http');
  other = await listen('other', createServer(), 'http');
  secure = await listen(
    'secure',
    createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: caPem }),
    'https',
  );
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const finished = (run: ExecRun, id: string) =>
  run.events.find(
    (e): e is Extract<JournalEvent, { type: 'step-finished' }> => e.type === 'step-finished' && e.step === id,
  );
const http = (spec: Extract<Action, { kind: 'http' }>['http']): Action => ({ kind: 'http', http: spec });

describe('http steps: redirects', () => {
  it('does not follow a 302 when the step expects 302; follows it otherwise', async () => {
    hits.length = 0;
    const rb = makeRunbook([
      makeStep('expect-302', http({ url: `${main}/moved`, expect: { status: 302 } })),
      makeStep('follow', http({ url: `${main}/moved`, expect: { body: 'target reached' } }), {
        needs: ['expect-302'],
      }),
    ]);
    const run = await execRunbook(rb);
    expect(finished(run, 'expect-302')?.status).toBe('succeeded');
    expect(finished(run, 'follow')?.status).toBe('succeeded');
    expect(hits.map((h) => h.path)).toEqual(['/moved', '/moved', '/target']);
  });

  it('never forwards a secret header to another origin; keeps it on the same origin', async () => {
    hits.length = 0;
    const headers = { 'X-Api-Key': 'k-123-secret', Authorization: 'Bearer t', Accept: 'text/plain' };
    const rb = makeRunbook([
      makeStep('cross', http({ url: `${main}/elsewhere`, headers })),
      makeStep('same', http({ url: `${main}/same-origin`, headers }), { needs: ['cross'] }),
    ]);
    const run = await execRunbook(rb);
    expect(finished(run, 'cross')?.status).toBe('succeeded');
    const landed = hits.filter((h) => h.path === '/landing');
    expect(landed.map((h) => h.server)).toEqual(['other', 'main']);
    expect(landed[0]!.headers['x-api-key']).toBeUndefined();
    expect(landed[0]!.headers.authorization).toBeUndefined();
    expect(landed[0]!.headers.accept).toBe('text/plain');
    expect(landed[1]!.headers['x-api-key']).toBe('k-123-secret');
  });
});

describe('http steps: resources and TLS', () => {
  it('sends the resource headers, resolves a path under the resource url', async () => {
    hits.length = 0;
    const resources: Record<string, Resource> = {
      gw: { kind: 'http', url: `${main}/api`, headers: { 'X-Team': 'sre', 'X-Api-Key': 'from-resource' } },
    };
    const rb = makeRunbook(
      [makeStep('probe', http({ resource: 'gw', url: '/health', headers: { 'X-Api-Key': 'from-step' } }))],
      { resources },
    );
    const run = await execRunbook(rb);
    expect(finished(run, 'probe')?.status).toBe('succeeded');
    expect(hits[0]).toMatchObject({
      path: '/api/health',
      headers: { 'x-team': 'sre', 'x-api-key': 'from-step' },
    });
  });

  it('trusts a private CA given on the resource, and only there', async () => {
    const resources: Record<string, Resource> = {
      internal: { kind: 'http', url: secure, ca: caPem },
      untrusted: { kind: 'http', url: secure },
    };
    const rb = makeRunbook(
      [
        makeStep('trusted', http({ resource: 'internal', url: '/x', expect: { body: 'ok secure' } })),
        makeStep('plain', http({ resource: 'untrusted', url: '/x' }), {
          needs: ['trusted'],
          onFailure: 'continue',
        }),
      ],
      { resources },
    );
    const run = await execRunbook(rb);
    expect(finished(run, 'trusted')?.status).toBe('succeeded');
    expect(finished(run, 'plain')?.error).toMatch(/SELF_SIGNED|self.signed/i);
  });
});

describe('http steps: validate catches what would fail on the night', () => {
  it('rejects an invalid bodyMatches and a relative url without a resource', () => {
    const file = join(dir, 'bad-http.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: bad-http',
        'roles: { SRE: {} }',
        "resources: { gw: { kind: http, url: 'https://gw.bank.internal' } }",
        'steps:',
        "  - { id: a, owner: SRE, http: { url: 'https://gw/x', expect: { bodyMatches: '(unclosed' } } }",
        "  - { id: b, owner: SRE, http: { url: '/health' } }",
        "  - { id: c, owner: SRE, http: { resource: gw, url: '/health' } }",
      ].join('\n'),
    );
    let messages: string[] = [];
    try {
      loadRunbook(file);
    } catch (err) {
      if (!(err instanceof RunbookError)) throw err;
      messages = err.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    }
    const message = messages.join('\n');
    expect(message).toMatch(/bodyMatches is not a valid regular expression/);
    expect(message).toMatch(/url "\/health" is not an absolute/);
    expect(message.match(/is not an absolute/g)).toHaveLength(1);
  });
});
