/**
 * The 50 viewers of bench/bridge.bench.ts, in their own process (on the night they sit on other
 * laptops, not on the bastion): `node --import tsx bench/bridge-viewers.ts <url>` with lines
 * `{"users":[...]}` then `{"watch":"<run>"}` on stdin. Each viewer does what the run page's script
 * does: holds the run's event stream open, fetches the live fragment 150 ms after events (one
 * fetch pending at a time) and every 2 s. Prints one JSON line per request: `ready` once every
 * stream is open, and `done` with what each viewer got (events in order, exactly once?) and the
 * CPU this process spent.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const url = process.argv[2]!;
const say = (o: unknown): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);

interface Got {
  /** Where it is: connecting, streaming, refreshing, done. */
  at: string;
  events: number;
  inOrder: boolean;
  ended: boolean;
  refreshes: number;
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

/** One viewer: resolves `opened` once the stream answered, and returns what it received. */
async function view(run: string, cookie: string, got: Got, opened: () => void): Promise<Got> {
  const abort = new AbortController();
  let pending: Promise<void> | undefined;
  const refresh = async (delay: number): Promise<void> => {
    await sleep(delay);
    const r = await fetch(`${url}/runs/${run}/live`, { headers: { cookie }, signal: abort.signal });
    await r.text();
    got.refreshes += 1;
  };
  const soon = (delay: number): void => {
    pending ??= refresh(delay)
      .catch(() => undefined)
      .finally(() => (pending = undefined));
  };
  const timer = setInterval(() => soon(0), 2000);
  try {
    got.at = 'connecting';
    const res = await fetch(`${url}/api/runs/${run}/events`, { headers: { cookie } });
    got.at = 'streaming';
    opened();
    if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
    let last = -1;
    let buf = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        let id: number | undefined;
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('id:')) id = Number(line.slice(3).trim());
        }
        if (event === 'journal') {
          if (id === undefined || id !== last + 1) got.inOrder = false;
          if (id !== undefined) last = id;
          got.events += 1;
          soon(150);
        } else if (event === 'end') {
          got.ended = true;
        }
      }
      if (got.ended) break;
    }
  } catch (err) {
    got.error = (err as Error).message;
  } finally {
    clearInterval(timer);
    abort.abort();
    got.at = 'finishing refresh';
    await pending;
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
      events: 0,
      inOrder: true,
      ended: false,
      refreshes: 0,
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
      events: [Math.min(...got.map((g) => g.events)), Math.max(...got.map((g) => g.events))],
      inOrder: got.every((g) => g.inOrder),
      ended: got.filter((g) => g.ended).length,
      refreshes: got.reduce((a, g) => a + g.refreshes, 0),
      errors: got.filter((g) => g.error).map((g) => g.error),
      unfinished: got.filter((g) => g.at !== 'done').map((g) => ({ ...g })),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    });
  }
}
