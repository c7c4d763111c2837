/**
 * A tiny demo banking app for the DR demo. On every request it reads its config keys from
 * Redis (`bcf.resource.target.mysql` = live | dr, `bcf.traffic` = open | closed), so flipping a
 * key moves it to DR without a restart, exactly like the bank's one-click switch. While
 * traffic is open it also writes a payment every 100 ms, as customers would.
 *
 * With `--remote-log DSN` every payment is first written to the remote log (a third site, the
 * seed bank's pattern; docs/reconcile.md); its transaction id is the payment's `txn_id`. A payment
 * from an account in the Redis set `bcf.blacklist.accounts` (funds in transit after an unplanned
 * failover, written by drctl reconcile) is refused.
 *
 *   node --import tsx scripts/demo/bank-app.ts --port 8080 --redis redis://127.0.0.1:6379 \
 *     --live mysql://root@127.0.0.1:3306/bank --dr mysql://root@127.0.0.1:3307/bank
 */
import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    // With --port 0 the OS picks a free port and the app writes it here (no pick-then-bind race).
    'port-file': { type: 'string' },
    redis: { type: 'string' },
    live: { type: 'string' },
    dr: { type: 'string' },
    'load-ms': { type: 'string', default: '100' },
    'remote-log': { type: 'string' },
    'blacklist-key': { type: 'string', default: 'bcf.blacklist.accounts' },
  },
});
if (!values.port || !values.redis || !values.live || !values.dr) {
  process.stderr.write('usage: bank-app --port N --redis URL --live DSN --dr DSN\n');
  process.exit(2);
}

const redis = new Redis(values.redis, { lazyConnect: false, maxRetriesPerRequest: 1 });
const pools = {
  live: mysql.createPool({ uri: values.live, connectionLimit: 4, timezone: 'Z' }),
  dr: mysql.createPool({ uri: values.dr, connectionLimit: 4, timezone: 'Z' }),
};
const remoteLog = values['remote-log']
  ? mysql.createPool({ uri: values['remote-log'], connectionLimit: 2, timezone: 'Z' })
  : undefined;
const blacklistKey = values['blacklist-key'];
let written = 0;
let refused = 0;

async function config(): Promise<{ target: 'live' | 'dr'; traffic: 'open' | 'closed' }> {
  const [target, traffic] = await redis.mget('bcf.resource.target.mysql', 'bcf.traffic');
  return { target: target === 'dr' ? 'dr' : 'live', traffic: traffic === 'closed' ? 'closed' : 'open' };
}

async function pay(
  amount: number,
  account: number,
): Promise<{ ok: boolean; id?: number; txn?: string; target: string; error?: string }> {
  const cfg = await config();
  if (cfg.traffic === 'closed') {
    refused++;
    return { ok: false, target: cfg.target, error: 'traffic is closed for the DR switch' };
  }
  if ((await redis.sismember(blacklistKey, String(account))) === 1) {
    refused++;
    return {
      ok: false,
      target: cfg.target,
      error: `account ${account} is blacklisted: funds in transit since the failover (${blacklistKey})`,
    };
  }
  const txn = randomUUID();
  try {
    // Logged first, synchronously: a payment the database lost is still in the remote log.
    await remoteLog?.execute(
      'INSERT INTO remote_log (account, transaction_id, amount, transaction_time) VALUES (?, ?, ?, NOW(6))',
      [account, txn, amount.toFixed(2)],
    );
    const [res] = await pools[cfg.target].execute(
      'INSERT INTO payments (account_id, amount, status, created_at, txn_id) VALUES (?, ?, ?, NOW(6), ?)',
      [account, amount.toFixed(2), 'settled', txn],
    );
    await pools[cfg.target].execute('UPDATE accounts SET balance = balance - ? WHERE id = ?', [
      amount.toFixed(2),
      account,
    ]);
    written++;
    return { ok: true, id: (res as { insertId: number }).insertId, txn, target: cfg.target };
  } catch (err) {
    refused++;
    return { ok: false, target: cfg.target, error: (err as Error).message };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/health') {
    const cfg = await config();
    // A health probe proves the app reaches the database it is configured for.
    const [rows] = await pools[cfg.target].query('SELECT @@port AS port, @@read_only AS ro');
    const db = (rows as { port: number; ro: number }[])[0]!;
    send(res, 200, {
      status: 'up',
      mysql: cfg.target,
      traffic: cfg.traffic,
      dbPort: db.port,
      dbReadOnly: db.ro === 1,
      written,
      refused,
    });
    return;
  }
  if (url.pathname === '/pay' && req.method === 'POST') {
    const r = await pay(
      Number(url.searchParams.get('amount') ?? '10'),
      Number(url.searchParams.get('account') ?? '1'),
    );
    send(res, r.ok ? 200 : 503, r);
    return;
  }
  send(res, 404, { error: 'not found' });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => send(res, 500, { error: (err as Error).message }));
});
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  if (values['port-file']) {
    // Written whole, then renamed: a reader never sees half a number.
    writeFileSync(`${values['port-file']}.tmp`, `${port}\n`);
    renameSync(`${values['port-file']}.tmp`, values['port-file']);
  }
  process.stdout.write(`bank-app listening on 127.0.0.1:${port}\n`);
});

// Customers: a payment every load-ms while traffic is open.
let account = 0;
const loadMs = Number(values['load-ms']);
const load =
  loadMs > 0
    ? setInterval(() => {
        account = (account % 100) + 1;
        void pay(1 + (account % 7), account);
      }, loadMs)
    : undefined;

function shutdown(): void {
  clearInterval(load);
  server.close();
  void Promise.allSettled([pools.live.end(), pools.dr.end(), remoteLog?.end(), redis.quit()]).then(() =>
    process.exit(0),
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
