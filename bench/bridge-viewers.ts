/**
 * The 50 viewers of bench/bridge.bench.ts, in their own process (on the night they sit on other
 * laptops, not on the bastion): `node --import tsx bench/bridge-viewers.ts <url>` with lines
 * `{"users":[...]}` then `{"watch":"<run>"}` on stdin. Each viewer does what the run page and its
 * script (src/bridge/pages.ts BRIDGE_JS) do over the network:
 * - loads the run page once (`/runs/<run>`), which says the journal seq and Gantt it shows, and
 *   `/api/me` (the page is the same for every user; its script personalises it);
 * - holds the run's event stream from that seq on (`?after=<seq>`), parses every journal event
 *   (the page folds it into its rows) and every live summary;
 * - a summary older than what it shows is skipped; one whose delta starts after it (`base`) makes
 *   it fetch the live fragment once (a resync); a summary naming a new Gantt chart makes it fetch
 *   `/runs/<run>/gantt` (If-None-Match), at most every `data-gantt-ms` since the last fetch;
 * - at `end`, reloads the page (which is then the run's report).
 * Nothing is fetched on a timer. Prints one JSON line per request: `ready` once every stream is
 * open, and `done` with what each viewer got (events in order, exactly once, up to the last?)
 * and the CPU and peak RSS of this process.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const url = process.argv[2]!;
const say = (o: unknown): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);

interface Got {
  /** Where it is: connecting, streaming, finishing, done. */
  at: string;
  /** The seq of the page it loaded: the stream starts after it. */
  from: number;
  /** The last journal seq it got (from + events when nothing is missing). */
  last: number;
  events: number;
  inOrder: boolean;
  ended: boolean;
  summaries: number;
  resyncs: number;
  gantts: number;
  pages: number;
  error?: string;
}

async function login(user: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  if (!res.ok) throw new Error(`login ${user}: HTTP ${res.status}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

const attr = (html: string, name: string): string | undefined =>
  new RegExp(`${name}="([^"]*)"`).exec(html)?.[1];

/** One viewer: resolves `opened` once the stream answered, and returns what it received. */
async function view(run: string, cookie: string, got: Got, opened: () => void): Promise<Got> {
  const abort = new AbortController();
  const get = async (path: string, headers: Record<string, string> = {}): Promise<Response> => {
    const r = await fetch(`${url}${path}`, { headers: { cookie, ...headers }, signal: abort.signal });
    await r.text();
    return r;
  };
  const pending = new Set<Promise<unknown>>();
  const background = (p: Promise<unknown>): void => {
    const q = p.catch(() => undefined).finally(() => pending.delete(q));
    pending.add(q);
  };
  try {
    got.at = 'loading the page';
    const page = await fetch(`${url}/runs/${run}`, { headers: { cookie } });
    const html = await page.text();
    got.pages += 1;
    // The page is the same for everyone; its script asks who is looking.
    await get('/api/me');
    let have = Number(attr(html, 'data-seq'));
    let gantt = attr(html, 'data-gantt') ?? '';
    const ganttMs = Number(attr(html, 'data-gantt-ms') ?? 3000);
    if (!Number.isInteger(have)) throw new Error(`the page has no data-seq (HTTP ${page.status})`);
    got.from = got.last = have;
    let ganttAt = Date.now();
    let ganttTimer: Promise<void> | undefined;
    let wantGantt = gantt;
    let resyncing = false;
    const loadGantt = (key: string): void => {
      wantGantt = key;
      if (ganttTimer) return;
      ganttTimer = (async () => {
        await sleep(Math.max(0, ganttAt + ganttMs - Date.now()), undefined, { signal: abort.signal });
        ganttAt = Date.now();
        const asked = wantGantt;
        const r = await get(`/runs/${run}/gantt`, { 'if-none-match': `"${gantt}"` });
        got.gantts += 1;
        if (r.status === 200) gantt = asked;
      })().finally(() => (ganttTimer = undefined));
      background(ganttTimer);
    };
    const resync = (): void => {
      resyncing = true;
      got.resyncs += 1;
      background(
        (async () => {
          const r = await fetch(`${url}/runs/${run}/live`, { headers: { cookie }, signal: abort.signal });
          const live = await r.text();
          have = Number(attr(live, 'data-seq'));
          gantt = attr(live, 'data-gantt') ?? gantt;
        })().finally(() => (resyncing = false)),
      );
    };

    got.at = 'connecting';
    // The stream over node:http (lighter than fetch's web streams: this process shares the cores).
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpGet(
        `${url}/api/runs/${run}/events?form=page&after=${have}`,
        { headers: { cookie, accept: 'text/event-stream' }, signal: abort.signal },
        resolve,
      );
      req.on('error', reject);
    });
    got.at = 'streaming';
    opened();
    if (res.statusCode !== 200) throw new Error(`events: HTTP ${res.statusCode}`);
    res.setEncoding('utf8');
    let buf = '';
    for await (const chunk of res) {
      buf += chunk as string;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        let data = '';
        let id: number | undefined;
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data = line.slice(5).trim();
          else if (line.startsWith('id:')) id = Number(line.slice(3).trim());
        }
        if (event === 'journal') {
          const ev = JSON.parse(data) as { seq: number };
          if (id === undefined || id !== got.last + 1 || ev.seq !== id) got.inOrder = false;
          if (id !== undefined) got.last = id;
          got.events += 1;
        } else if (event === 'live') {
          const s = JSON.parse(data) as { seq: number; base: number; gantt: string };
          got.summaries += 1;
          if (resyncing || s.seq < have) continue;
          if (s.base > have) {
            resync();
            continue;
          }
          have = s.seq;
          if (s.gantt !== gantt) loadGantt(s.gantt);
        } else if (event === 'end') {
          got.ended = true;
        }
      }
      if (got.ended) break;
    }
    // The page reloads into the run's report.
    await get(`/runs/${run}`);
    got.pages += 1;
  } catch (err) {
    got.error = (err as Error).message;
  } finally {
    abort.abort();
    got.at = 'finishing';
    await Promise.all(pending);
    got.at = 'done';
  }
  return got;
}

let cookies: string[] = [];
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const msg = JSON.parse(line) as { users?: [string, string][]; watch?: string };
  if (msg.users) {
    cookies = [];
    for (const [u, p] of msg.users) cookies.push(await login(u, p));
    say({ loggedIn: cookies.length });
  } else if (msg.watch) {
    const cpu0 = process.cpuUsage();
    // The run directory appears before the run is listed (its journal is being created): a
    // browser opens the page from the run list, so only once it is there.
    for (let t = 0; t < 200; t++) {
      const r = await fetch(`${url}/api/runs/${msg.watch}`, { headers: { cookie: cookies[0]! } });
      await r.text();
      if (r.ok) break;
      await sleep(25);
    }
    let open = 0;
    const got: Got[] = cookies.map(() => ({
      at: 'new',
      from: -1,
      last: -1,
      events: 0,
      inOrder: true,
      ended: false,
      summaries: 0,
      resyncs: 0,
      gantts: 0,
      pages: 0,
    }));
    const all = cookies.map((c, i) =>
      view(msg.watch!, c, got[i]!, () => {
        if (++open === cookies.length) say({ ready: msg.watch });
      }),
    );
    // A viewer that never finishes is reported (where it stopped), not waited for forever.
    await Promise.race([Promise.all(all), sleep(180_000)]);
    const cpu = process.cpuUsage(cpu0);
    say({
      done: msg.watch,
      viewers: got.length,
      last: [Math.min(...got.map((g) => g.last)), Math.max(...got.map((g) => g.last))],
      from: [Math.min(...got.map((g) => g.from)), Math.max(...got.map((g) => g.from))],
      inOrder: got.every((g) => g.inOrder && g.last - g.from === g.events),
      ended: got.filter((g) => g.ended).length,
      summaries: got.reduce((a, g) => a + g.summaries, 0),
      resyncs: got.reduce((a, g) => a + g.resyncs, 0),
      gantts: got.reduce((a, g) => a + g.gantts, 0),
      pages: got.reduce((a, g) => a + g.pages, 0),
      errors: got.filter((g) => g.error).map((g) => g.error),
      unfinished: got.filter((g) => g.at !== 'done').map((g) => ({ ...g })),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    });
  }
}
