import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as sent. */
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  /** ms since the receiver started, when the request arrived in full. */
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** What the next request is answered with; default 200 at once. */
  respond: (n: number) => { status: number; delayMs?: number };
  stop(): Promise<void>;
}

/**
 * A webhook receiver on a free 127.0.0.1 port: a real HTTP server that records every request
 * and answers as `respond` says (a status, after a delay). `stop` ends open connections too.
 */
export async function startReceiver(respond?: Receiver['respond']): Promise<Receiver> {
  const t0 = performance.now();
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const r: Receiver = {
    url: '',
    port: 0,
    requests,
    respond: respond ?? (() => ({ status: 200 })),
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const n = requests.length;
      requests.push({ path: req.url ?? '', headers: req.headers, text, json, at: performance.now() - t0 });
      const { status, delayMs } = r.respond(n);
      const answer = (): void => {
        if (!res.writableEnded && !res.destroyed)
          res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      };
      if (delayMs === undefined) answer();
      else {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, delayMs);
        timers.add(t);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}`;
  return r;
}

/** A loopback port nothing listens on: bound, then closed (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
