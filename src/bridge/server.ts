/* eslint-disable @typescript-eslint/no-unsafe-argument -- hono's Context carries `any` in its
   generic input type; passing a route's context to a helper trips this rule, nothing else. */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve, type HttpBindings, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { submitApproval } from '../engine/approvals.js';
import { readJournal } from '../journal/journal.js';
import { renderReport } from '../report/index.js';
import { redactValue } from '../util/redact.js';
import { Auth, type AuthOptions } from './auth.js';
import { clockForecasts, runningOutput } from './live-details.js';
import { summarize, type SummaryState } from './live-summary.js';
import { BRIDGE_JS, ganttKey, ganttSvg, liveFragment, loginPage, runListPage, runPage } from './pages.js';
import type { RunLocation } from '../journal/runs.js';
import type { Users } from '../engine/users.js';
import { JournalFeeds, type FeedForm, type FeedSink } from './feed.js';
import { findRun, listRunSummaries, RunReader, type RunSnapshot } from './runs.js';

export interface BridgeOptions extends Omit<AuthOptions, 'usersFile'> {
  runsDir: string;
  usersFile: string;
  /** Cookies get `Secure` (served over TLS). */
  secure: boolean;
  /**
   * Host names (`host` or `host:port`) the server answers to besides the address it listens on
   * and localhost: a request naming another Host is refused (DNS rebinding).
   */
  allowedHosts?: string[] | undefined;
  /** How long an approve/reject waits for the executor's answer (default 15 s). */
  answerWaitMs?: number | undefined;
  /** How often a watched run's journal is looked at for new lines (default 250 ms). */
  pollMs?: number | undefined;
  /** A viewer this far behind (bytes) is disconnected with a `lagging` event (default 1 MiB). */
  maxLagBytes?: number | undefined;
  /** A viewer that takes nothing for this long is disconnected (default 30 s). */
  stallMs?: number | undefined;
  /** A watched live run's summary goes to its viewers at most this often (default 1 s). */
  summaryMs?: number | undefined;
}

const COOKIE = 'drctl_session';

/**
 * How old a snapshot the live page's requests and summaries may get (the page follows the journal
 * events themselves in between): one replay per second at most for all of them.
 */
const PAGE_READ = { maxAgeMs: 1000 };

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

type Env = { Variables: { user: string; roles: string[] } };

/**
 * The bridge: a read-only view of every run under `runsDir`, live, and approvals that go through
 * the runs' approval inboxes (the executor stays the journal's only writer, and decides them).
 */
export function createBridgeApp(opts: BridgeOptions): Hono<Env> {
  const auth = new Auth(opts);
  const reader = new RunReader();
  const feeds = new JournalFeeds({
    pollMs: opts.pollMs,
    maxLagBytes: opts.maxLagBytes,
    stallMs: opts.stallMs,
    summaryMs: opts.summaryMs,
  });
  /**
   * Pages rendered from a snapshot, per users file and user: 50 viewers refreshing after the
   * same events get one render each per snapshot at most (and one gzip of it), and their cost
   * slows the next replay of a live run (RunReader.charge). A 500-step run's live part is
   * ~300 KB of HTML; gzipped it is a tenth, and sending it is most of what a refresh costs.
   */
  const rendered = new WeakMap<RunSnapshot, WeakMap<Users, Map<string, { html: string; gz?: Buffer }>>>();
  const page = (
    c: Context,
    snap: RunSnapshot,
    name: string,
    user: string,
    f: (users: Users) => string,
  ): Response => {
    const users = auth.currentUsers();
    let byUsers = rendered.get(snap);
    if (byUsers === undefined) rendered.set(snap, (byUsers = new WeakMap()));
    let pages = byUsers.get(users);
    if (pages === undefined) byUsers.set(users, (pages = new Map()));
    const key = `${name}\0${user}`;
    let p = pages.get(key);
    if (p === undefined) {
      const t0 = performance.now();
      p = { html: f(users) };
      reader.charge(snap, performance.now() - t0);
      pages.set(key, p);
    }
    if (p.html.length < 16_384 || !/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      return c.html(p.html);
    }
    if (p.gz === undefined) {
      const t0 = performance.now();
      p.gz = gzipSync(p.html, { level: 1 });
      reader.charge(snap, performance.now() - t0);
    }
    return c.body(new Uint8Array(p.gz), 200, {
      'content-type': 'text/html; charset=UTF-8',
      'content-encoding': 'gzip',
      vary: 'Accept-Encoding',
    });
  };
  const app = new Hono<Env>();
  const address = (c: Context): string => {
    try {
      return getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      return 'unknown';
    }
  };
  const api = (c: Context): boolean => c.req.path.startsWith('/api/');
  const fail = (
    c: Context,
    status: 400 | 401 | 403 | 404 | 409 | 421 | 422 | 429 | 504,
    error: string,
  ): Response =>
    api(c) || c.req.method !== 'GET'
      ? c.json({ error }, status)
      : c.html(
          status === 401 ? loginPage() : `<!doctype html><title>${status}</title><p>${escape(error)}</p>`,
          status,
        );

  app.use('*', async (c, next) => {
    // DNS rebinding: a page elsewhere that resolves its name to this address sends its own Host.
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!hostAllowed(host, opts.allowedHosts ?? [])) {
      const res = c.json(
        { error: `unknown host ${JSON.stringify(host)}: start drctl serve with --public-url` },
        421,
      );
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
      return res;
    }
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  // CSRF: a state change must come from this origin. Browsers send Origin (or Sec-Fetch-Site)
  // on every POST; a script that sends neither is not a browser a page could drive.
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin');
      const site = c.req.header('sec-fetch-site');
      const host = c.req.header('host') ?? '';
      const self = [`http://${host}`, `https://${host}`];
      const foreign =
        origin !== undefined && origin !== 'null'
          ? !self.includes(origin)
          : site !== undefined
            ? site !== 'same-origin' && site !== 'none'
            : origin === 'null';
      if (foreign) {
        return fail(
          c,
          403,
          'cross-origin request refused (CSRF): send it from the bridge page, or without a foreign Origin',
        );
      }
    }
    await next();
  });

  app.get('/static/bridge.js', (c) =>
    c.body(BRIDGE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/login', (c) => c.html(loginPage()));

  const startSession = (c: Context, token: string): void =>
    setCookie(c, COOKIE, token, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: opts.secure,
      path: '/',
    });

  app.post('/api/login', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return fail(c, 400, 'expected JSON {"user","password"}');
    }
    const { user, password } = (body ?? {}) as { user?: unknown; password?: unknown };
    const r = await auth.login(user, password, address(c));
    if (!r.ok) {
      if (r.retryAfterS !== undefined) c.header('Retry-After', String(r.retryAfterS));
      return fail(c, r.status, r.error);
    }
    startSession(c, r.token);
    return c.json({ user: r.user, roles: r.roles });
  });

  app.post('/login', async (c) => {
    const form: Record<string, unknown> = await c.req.parseBody().catch(() => ({}));
    const r = await auth.login(form.user, form.password, address(c));
    if (!r.ok) {
      if (r.retryAfterS !== undefined) c.header('Retry-After', String(r.retryAfterS));
      return c.html(loginPage(r.error), r.status);
    }
    startSession(c, r.token);
    return c.redirect('/', 303);
  });

  const logout = (c: Context): void => {
    auth.logout(getCookie(c, COOKIE));
    deleteCookie(c, COOKIE, { path: '/' });
  };
  app.post('/api/logout', (c) => {
    logout(c);
    return c.json({ ok: true });
  });
  app.post('/logout', (c) => {
    logout(c);
    return c.redirect('/login', 303);
  });

  // Everything below needs a session.
  app.use('*', async (c, next) => {
    const who = auth.check(getCookie(c, COOKIE));
    if (who === undefined) return fail(c, 401, 'not logged in: POST /api/login first');
    c.set('user', who.user);
    c.set('roles', who.roles);
    await next();
  });

  app.get('/', (c) => c.html(runListPage(listRunSummaries(opts.runsDir, reader), c.get('user'))));

  app.get('/api/me', (c) => c.json({ user: c.get('user'), roles: c.get('roles') }));

  app.get('/api/runs', (c) => c.json({ runs: listRunSummaries(opts.runsDir, reader) }));

  const snapshot = (
    c: Context,
    id: string,
    read: { fresh?: boolean; maxAgeMs?: number } = {},
  ): { res: Response } | { loc: RunLocation; snap: RunSnapshot } => {
    const loc = findRun(opts.runsDir, id);
    if (loc === undefined) return { res: fail(c, 404, `no run ${JSON.stringify(id)}`) };
    try {
      return { loc, snap: reader.read(loc, read) };
    } catch (err) {
      return { res: fail(c, 422, `run ${id} cannot be read: ${redactValue((err as Error).message)}`) };
    }
  };

  app.get('/api/runs/:run', (c) => {
    const r = snapshot(c, c.req.param('run'));
    if ('res' in r) return r.res;
    // Beside `status --json`: what the run page shows of a live run that the journal alone does
    // not hold (both shared per snapshot with the pages and the live summaries).
    const forecast = clockForecasts(r.loc, r.snap) ?? null;
    const output = Object.fromEntries(runningOutput(r.loc, r.snap));
    return c.json({ ...r.snap.doc, ...(redactValue({ forecast, output }) as object) });
  });

  app.get('/runs/:run', (c) => {
    const r = snapshot(c, c.req.param('run'), PAGE_READ);
    if ('res' in r) return r.res;
    // A finished run: the same HTML report as `drctl report --format html`.
    if (r.snap.view.finished) return page(c, r.snap, 'report', '', () => renderReport(r.snap.model, 'html'));
    // The same page for every user (the script personalises it): one render per snapshot.
    return page(c, r.snap, 'page', '', (users) => runPage(r.snap, users, r.loc));
  });

  app.get('/runs/:run/live', (c) => {
    const r = snapshot(c, c.req.param('run'), PAGE_READ);
    if ('res' in r) return r.res;
    return page(c, r.snap, 'live', '', (users) => liveFragment(r.snap, users, r.loc));
  });

  // The Gantt chart alone: a live page fetches it when its summary says it changed (at most every
  // few seconds); If-None-Match with the ETag it got answers 304 while the chart is the same.
  app.get('/runs/:run/gantt', (c) => {
    const r = snapshot(c, c.req.param('run'), PAGE_READ);
    if ('res' in r) return r.res;
    const etag = `"${ganttKey(r.snap)}"`;
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, { etag });
    const res = page(c, r.snap, 'gantt', '', () => ganttSvg(r.snap));
    res.headers.set('etag', etag);
    return res;
  });

  app.get('/runs/:run/report', (c) => {
    const r = snapshot(c, c.req.param('run'));
    return 'res' in r ? r.res : page(c, r.snap, 'report', '', () => renderReport(r.snap.model, 'html'));
  });

  app.get('/api/runs/:run/events', (c) => {
    const loc = findRun(opts.runsDir, c.req.param('run'));
    if (loc === undefined) return fail(c, 404, `no run ${JSON.stringify(c.req.param('run'))}`);
    const formQuery = c.req.query('form');
    if (formQuery !== undefined && formQuery !== 'page' && formQuery !== 'journal') {
      return fail(
        c,
        400,
        `form=${JSON.stringify(formQuery)}: expected form=page (what the run page folds) or form=journal (whole events, the default)`,
      );
    }
    const form: FeedForm = formQuery === 'page' ? 'page' : 'journal';
    const lastId = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? -1);
    const after = Number.isFinite(lastId) ? lastId : -1;
    // The run's live summary, once per interval for all its viewers (live-summary.ts).
    const summarizer = (prev: unknown): { data: string; state: unknown } | undefined => {
      const snap = reader.read(loc, PAGE_READ);
      const t0 = performance.now();
      const r = summarize(loc, snap, auth.currentUsers(), prev as SummaryState | undefined);
      reader.charge(snap, performance.now() - t0);
      return r && { data: JSON.stringify(r.summary), state: r.state };
    };
    // One reader per run for every viewer, frames redacted and serialised once (feed.ts).
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
    if (outgoing !== undefined) {
      // On Node, straight to the socket: each viewer's writes used to pass through hono's web
      // streams (a ReadableStream per viewer, a copy and a promise per chunk), which the profile
      // of 50 viewers showed as much of serve's CPU and garbage.
      outgoing.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream' });
      outgoing.flushHeaders();
      let closed = false;
      const gone = new Promise<void>((resolve) =>
        outgoing.once('close', () => {
          closed = true;
          resolve();
        }),
      );
      const sink: FeedSink = {
        write: (chunk) =>
          new Promise<void>((resolve) => {
            if (closed || outgoing.write(chunk)) return resolve();
            const done = (): void => {
              outgoing.off('drain', done);
              outgoing.off('close', done);
              resolve();
            };
            outgoing.on('drain', done);
            outgoing.on('close', done);
          }),
        bytes: true,
        get closed() {
          return closed;
        },
        gone,
        abort: () => outgoing.destroy(),
      };
      void feeds
        .stream(loc.journalPath, after, sink, summarizer, form)
        .catch((err: unknown) => process.stderr.write(`bridge: ${redactValue(String(err))}\n`))
        .finally(() => {
          if (!closed) outgoing.end();
        });
      return RESPONSE_ALREADY_SENT;
    }
    return streamSSE(c, async (stream) => {
      const gone = new Promise<void>((resolve) => stream.onAbort(resolve));
      const sink: FeedSink = {
        write: (chunk) => stream.write(chunk),
        bytes: true,
        get closed() {
          return stream.aborted || stream.closed;
        },
        gone,
        // A peer that stopped reading: drop its connection (node adapter; absent under app.request).
        abort: () => (c.env as Partial<HttpBindings> | undefined)?.outgoing?.destroy(),
      };
      await feeds.stream(loc.journalPath, after, sink, summarizer, form);
    });
  });

  for (const action of ['approve', 'reject'] as const) {
    app.post(`/api/runs/:run/steps/:step/${action}`, async (c) => {
      if (!(c.req.header('content-type') ?? '').startsWith('application/json')) {
        return fail(c, 400, 'expected a JSON body {"comment": "..."} with content-type application/json');
      }
      let body: { comment?: unknown };
      try {
        body = (await c.req.json()) ?? {};
      } catch {
        return fail(c, 400, 'expected JSON {"comment": "..."}');
      }
      const comment = typeof body.comment === 'string' ? body.comment.slice(0, 1000) : undefined;
      // Decided on the journal as it is now, not on a snapshot a viewer's page was drawn from.
      const r = snapshot(c, c.req.param('run'), { fresh: true });
      if ('res' in r) return r.res;
      const stepId = c.req.param('step');
      const step = r.snap.view.byId.get(stepId);
      if (step === undefined) return fail(c, 404, `run ${r.loc.id} has no step ${JSON.stringify(stepId)}`);
      if (
        step.state !== 'waiting-approval' &&
        !(action === 'approve' && step.approval?.decision === 'approved')
      ) {
        return fail(c, 409, `${stepId} is not waiting for approval (it is ${step.state})`);
      }
      if (r.snap.live === false) {
        return fail(c, 409, `run ${r.loc.id} is not running (drctl is gone): resume it first`);
      }
      const events = r.snap.view.events;
      const req = submitApproval(r.loc.dir, {
        step: stepId,
        decision: action === 'approve' ? 'approved' : 'rejected',
        by: c.get('user'),
        via: 'bridge',
        address: address(c),
        ...(comment ? { comment } : {}),
      });
      // The executor answers every request with one journal event; wait for ours.
      const deadline = Date.now() + (opts.answerWaitMs ?? 15_000);
      while (Date.now() < deadline) {
        const ev = readJournal(r.loc.journalPath).events.find(
          (e, i) =>
            i >= events && (e.type === 'approval' || e.type === 'approval-refused') && e.request === req.id,
        );
        if (ev?.type === 'approval') {
          const partial = ev.count !== undefined && ev.needed !== undefined && ev.count < ev.needed;
          return c.json({
            recorded: true,
            event: ev.seq,
            decision: ev.decision,
            by: ev.by,
            ...(ev.count === undefined ? {} : { count: ev.count, needed: ev.needed }),
            message: partial
              ? `${stepId}: your approval is ${ev.count} of ${ev.needed}; it waits for ${ev.needed! - ev.count!} more from other people`
              : `${stepId} ${ev.decision} by ${ev.by}${ev.concurring ? ' (a concurring approval: it was already approved)' : ''}`,
          });
        }
        if (ev?.type === 'approval-refused') {
          const status = ev.code === 'not-allowed' ? 403 : 409;
          return c.json({ recorded: false, event: ev.seq, code: ev.code, error: ev.reason }, status);
        }
        await sleep(50);
      }
      return fail(c, 504, `${stepId}: submitted (request ${req.id}) but the executor has not answered yet`);
    });
  }

  app.notFound((c) => fail(c, 404, 'not found'));
  app.onError((err, c) => {
    process.stderr.write(`bridge: ${redactValue(err.stack ?? String(err))}\n`);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function hostAllowed(host: string, extra: string[]): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name === '127.0.0.1' || name === '::1') return true;
  return extra.some((e) => e.toLowerCase() === host || e.toLowerCase() === name);
}

export interface StartedBridge {
  server: ServerType;
  url: string;
  close(): Promise<void>;
}

/** Listens on `host:port` (TLS when cert and key are given). */
export function startBridge(
  opts: BridgeOptions & { host: string; port: number; tls?: { cert: Buffer; key: Buffer } | undefined },
): Promise<StartedBridge> {
  const app = createBridgeApp({
    ...opts,
    allowedHosts: [...(opts.allowedHosts ?? []), opts.host],
  });
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        hostname: opts.host,
        port: opts.port,
        ...(opts.tls
          ? { createServer: createHttpsServer, serverOptions: { cert: opts.tls.cert, key: opts.tls.key } }
          : {}),
      },
      (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        resolve({
          server,
          url: `${opts.tls ? 'https' : 'http'}://${host}:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              server.close(() => done());
            }),
        });
      },
    );
    server.once('error', reject);
  });
}
