import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestValue } from '../../checkers/redis/digest.js';

const buf = fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a));

describe('redis value digests', () => {
  it('ignore the order of set members and hash fields, not of list elements', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(buf, { selector: (b) => b.toString('hex'), minLength: 2, maxLength: 6 }),
        (members) => {
          const reversed = [...members].reverse();
          expect(digestValue('set', reversed)).toBe(digestValue('set', members));
          const hash = members.flatMap((m, i) => [m, Buffer.from([i])]);
          const hashRev = members.flatMap((m, i) => [m, Buffer.from([i])]).reverse();
          const pairsRev: Buffer[] = [];
          for (let i = 0; i < hashRev.length; i += 2) pairsRev.push(hashRev[i + 1]!, hashRev[i]!);
          expect(digestValue('hash', pairsRev)).toBe(digestValue('hash', hash));
          expect(digestValue('list', reversed)).not.toBe(digestValue('list', members));
        },
      ),
    );
  });

  it('cannot be fooled by moving a boundary between elements', () => {
    expect(digestValue('list', [Buffer.from('x#y'), Buffer.from('z')])).not.toBe(
      digestValue('list', [Buffer.from('x'), Buffer.from('y#z')]),
    );
    expect(digestValue('list', [Buffer.from('ab'), Buffer.from('')])).not.toBe(
      digestValue('list', [Buffer.from('a'), Buffer.from('b')]),
    );
    expect(digestValue('hash', [Buffer.from('a'), Buffer.from('bc')])).not.toBe(
      digestValue('hash', [Buffer.from('ab'), Buffer.from('c')]),
    );
  });

  it('separates types and absent values', () => {
    expect(digestValue('string', Buffer.from('a'))).not.toBe(digestValue('list', [Buffer.from('a')]));
    expect(digestValue('string', null)).toBeUndefined();
    expect(digestValue('string', Buffer.from(''))).toBeDefined();
  });
});
