import { join } from 'node:path';
import { Redis } from 'ioredis';
import { makeTempDir, onFreePort, removeDir, requireBinary, startServer, waitUntilReady } from './process.js';

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const REDIS_SERVER = '/usr/bin/redis-server';

/** A throwaway redis-server on a free loopback port: no persistence, own temp dir, stopped by PID. */
export async function startRedis(opts: { firstPort?: number } = {}): Promise<RedisServer> {
  requireBinary(REDIS_SERVER, 'apt-get install -y redis-server');
  return onFreePort('redis-server', startRedisOn, opts.firstPort);
}

async function startRedisOn(port: number): Promise<RedisServer> {
  const dir = makeTempDir('redis');
  const server = startServer(
    'redis-server',
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    { cwd: dir, logFile: join(dir, 'redis.log') },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await server.stop('SIGTERM', 10_000);
    removeDir(dir);
  };
  try {
    await waitUntilReady(
      server,
      async () => {
        const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        c.on('error', () => undefined);
        try {
          await c.connect();
          return (await c.ping()) === 'PONG';
        } finally {
          c.disconnect();
        }
      },
      15_000,
      port,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, pid: server.child.pid!, stop };
}
