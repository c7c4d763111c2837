import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planSplit, type KeyRange } from '../../checkers/s3/split-points.js';

const CHARS = [
  '0',
  '1',
  '5',
  '9',
  'a',
  'b',
  'z',
  'A',
  'Z',
  '/',
  '-',
  '~',
  ' ',
  'é',
  '😀',
  '\u{10FFFF}',
  '\u0001',
];
const keyArb = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 7 }).map((cs) => cs.join(''));
const bytes = (s: string) => Buffer.from(s, 'utf8');
const sortBytes = (xs: Buffer[]) => [...xs].sort((a, b) => Buffer.compare(a, b));
const startsWith = (k: Buffer, p: Buffer) => k.length >= p.length && k.subarray(0, p.length).equals(p);

function inPiece(k: Buffer, r: KeyRange): boolean {
  return (
    startsWith(k, r.within) &&
    (r.from === undefined || Buffer.compare(k, r.from) >= 0) &&
    (r.before === undefined || Buffer.compare(k, r.before) < 0)
  );
}

describe('planSplit', () => {
  it('cuts obj/0000999 at the digit blocks', () => {
    const plan = planSplit(
      { within: Buffer.alloc(0) },
      bytes('obj/0000000'),
      bytes('obj/0000999'),
      bytes('obj/0000999'),
    )!;
    const prefixes = plan.pieces.filter((p) => p.from === undefined).map((p) => p.within.toString());
    expect(prefixes).toContain('obj/0001');
    expect(prefixes).toContain('obj/009');
    expect(prefixes).toContain('obj/01');
    expect(plan.current.within.toString()).toBe('obj/00009');
    expect(plan.current.before.toString()).toBe('obj/0000:');
  });

  it('partitions every key above the listing position exactly once (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { minLength: 2, maxLength: 60 }),
        fc.array(keyArb, { maxLength: 60 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.option(keyArb, { nil: undefined }),
        (listed, probes, i1, i2, i3, beforeText) => {
          const keys = sortBytes(listed.map(bytes));
          const last = keys[Math.max(i1, i2) % keys.length]!;
          const first = keys[Math.min(i1 % keys.length, i2 % keys.length, keys.indexOf(last))]!;
          const lowest = keys[Math.min(i3 % keys.length, keys.indexOf(last))]!;
          const before = beforeText === undefined ? undefined : bytes(beforeText);
          if (before !== undefined && Buffer.compare(before, last) <= 0) return;
          const range: KeyRange = { within: Buffer.alloc(0), before };
          const plan = planSplit(range, first, last, lowest);
          if (!plan) return;
          const current: KeyRange = { within: plan.current.within, before: plan.current.before };
          for (const k of [...keys, ...probes.map(bytes)]) {
            if (Buffer.compare(k, lowest) <= 0) continue;
            if (before !== undefined && Buffer.compare(k, before) >= 0) continue;
            const owners = [current, ...plan.pieces].filter((r) => inPiece(k, r));
            expect(owners.length, `key ${JSON.stringify(k.toString())}`).toBe(1);
          }
          for (const r of plan.pieces) {
            expect(Buffer.from(r.within.toString('utf8')).equals(r.within)).toBe(true);
            if (r.startAfter !== undefined) {
              for (const k of [...keys, ...probes.map(bytes)]) {
                if (inPiece(k, r)) expect(Buffer.compare(k, bytes(r.startAfter))).toBeGreaterThan(0);
              }
            }
          }
          expect(Buffer.from(current.within.toString('utf8')).equals(current.within)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
