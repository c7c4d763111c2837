import { createServer, type Server } from 'node:net';
import { CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../../checkers/s3/client.js';
import { startCeph } from '../harness/ceph.js';
import { freePort, listensOn } from '../harness/process.js';
import { startRedis } from '../harness/redis.js';

/**
 * The harness picks a free port, and a server binds it seconds later. With the test files running
 * in parallel, another server can take the port in between; the demo once seeded its buckets into
 * an OpenSearch node that way ("@aws-sdk XML parse error: unexpected content"). A port taken in
 * between must never be mistaken for our server: the harness notices and starts on another port.
 */

let squatter: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (squatter ? squatter.close(r) : r(undefined)));
  squatter = undefined;
});

/** Holds a loopback port and answers every connection like a server that is not ours. */
async function squat(reply: string): Promise<number> {
  const port = await freePort();
  squatter = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.on('data', () => sock.end(reply));
  });
  await new Promise<void>((resolve) => squatter!.listen(port, '127.0.0.1', resolve));
  return port;
}

describe('a port taken between freePort() and the bind', () => {
  it('redis: the squatter answers PONG, yet the harness starts its own redis-server on another port', async () => {
    const taken = await squat('+PONG\r\n');
    const redis = await startRedis({ firstPort: taken });
    try {
      expect(redis.port).not.toBe(taken);
      expect(listensOn(redis.pid, redis.port)).toBe(true);
      const c = new Redis(redis.url);
      expect(await c.info('server')).toContain(`process_id:${redis.pid}`);
      c.disconnect();
    } finally {
      await redis.stop();
    }
  });

  it('ceph: an HTTP squatter on the gateway port is not taken for radosgw; the gateway serves S3 on another port', async () => {
    const taken = await squat(
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}',
    );
    const ceph = await startCeph({ firstGatewayPort: taken });
    try {
      expect(ceph.endpoint).not.toBe(`http://127.0.0.1:${taken}`);
      expect(listensOn(ceph.gatewayPid(), Number(new URL(ceph.endpoint).port))).toBe(true);
      const s3 = createS3Client(
        { endpoint: ceph.endpoint, accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
        'source',
      );
      await s3.send(new CreateBucketCommand({ Bucket: 'ports' }));
      const { Buckets } = await s3.send(new ListBucketsCommand({}));
      expect(Buckets?.map((b) => b.Name)).toEqual(['ports']);
      s3.destroy();
    } finally {
      await ceph.stop();
    }
  });
});
