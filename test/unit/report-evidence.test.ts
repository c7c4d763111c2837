import { describe, expect, it } from 'vitest';
import { pickKeyEvidence } from '../../src/report/key-evidence.js';

describe('pickKeyEvidence', () => {
  it('picks positions, endpoints and versions out of a MySQL checker evidence, skipping raw dumps', () => {
    const evidence = {
      source: { display: 'root@10.0.0.1:3306', flavor: 'mariadb', version: '10.11.6-MariaDB', serverId: 1 },
      target: { display: 'root@10.1.0.1:3306', flavor: 'mariadb', version: '10.11.6-MariaDB', serverId: 2 },
      replication: { before: { secondsBehind: 0, ioRunning: 'Yes' } },
      catchUp: { position: '0-1-5', caughtUp: true, waitedMs: 4 },
      gtid: {
        primaryPosition: '0-1-5',
        replicaPosition: '0-1-5',
        missing: {},
        errant: [],
        raw: { primaryBinlogPos: '0-1-5' },
      },
      tables: [{ table: 'bank.accounts', rowsSource: 500 }],
    };
    expect(pickKeyEvidence(evidence)).toEqual([
      { key: 'source.display', value: 'root@10.0.0.1:3306' },
      { key: 'source.version', value: '10.11.6-MariaDB' },
      { key: 'target.display', value: 'root@10.1.0.1:3306' },
      { key: 'target.version', value: '10.11.6-MariaDB' },
      { key: 'replication.before.secondsBehind', value: '0' },
      { key: 'catchUp.position', value: '0-1-5' },
      { key: 'catchUp.caughtUp', value: 'true' },
      { key: 'gtid.primaryPosition', value: '0-1-5' },
      { key: 'gtid.replicaPosition', value: '0-1-5' },
    ]);
  });

  it('works for other checkers by field names, and bounds what it keeps', () => {
    expect(
      pickKeyEvidence({ buckets: ['docs', 'statements'], endpoint: 'http://rgw:7480', objects: 10 }),
    ).toEqual([
      { key: 'buckets', value: 'docs, statements' },
      { key: 'endpoint', value: 'http://rgw:7480' },
    ]);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`index${i}`, `i-${i}`]));
    expect(pickKeyEvidence(many)).toHaveLength(14);
    expect(pickKeyEvidence({ version: 'x'.repeat(500) })).toEqual([]);
  });
});
