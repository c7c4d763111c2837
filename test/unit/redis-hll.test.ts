import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { denseHll, hllRegisters } from '../../checkers/redis/hll.js';
import { displayKey } from '../../checkers/redis/key-name.js';

const SEED = 1129;

/** A sparse HLL as Redis writes it, from runs of equal registers (value 0 → ZERO/XZERO, 1..32 → VAL). */
function sparseHll(registers: Uint8Array): Buffer {
  const ops: number[] = [];
  let i = 0;
  while (i < registers.length) {
    const v = registers[i]!;
    let run = 1;
    while (i + run < registers.length && registers[i + run] === v) run++;
    let left = run;
    while (left > 0) {
      if (v === 0 && left > 64) {
        const n = Math.min(left, 16384);
        ops.push(0x40 | ((n - 1) >> 8), (n - 1) & 0xff);
        left -= n;
      } else if (v === 0) {
        ops.push(left - 1);
        left = 0;
      } else {
        const n = Math.min(left, 4);
        ops.push(0x80 | ((v - 1) << 2) | (n - 1));
        left -= n;
      }
    }
    i += run;
  }
  return Buffer.concat([Buffer.from('HYLL'), Buffer.from([1, 0, 0, 0]), Buffer.alloc(8), Buffer.from(ops)]);
}

const registersArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 16383 }), fc.integer({ min: 1, max: 32 })), { maxLength: 200 })
  .map((sets) => {
    const r = new Uint8Array(16384);
    for (const [i, v] of sets) r[i] = v;
    return r;
  });

describe('HyperLogLog registers', () => {
  it('decode the same registers from the dense and the sparse encoding, whatever the cached count', () => {
    fc.assert(
      fc.property(registersArb, fc.uint8Array({ minLength: 8, maxLength: 8 }), (regs, cache) => {
        const dense = denseHll(regs);
        expect(Buffer.from(hllRegisters(dense)!).equals(Buffer.from(regs))).toBe(true);
        const sparse = sparseHll(regs);
        expect(Buffer.from(hllRegisters(sparse)!).equals(Buffer.from(regs))).toBe(true);
        Buffer.from(cache).copy(dense, 8); // PFCOUNT rewrites these bytes
        expect(Buffer.from(hllRegisters(dense)!).equals(Buffer.from(regs))).toBe(true);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('a string that is not a complete HLL is a plain string', () => {
    expect(hllRegisters(Buffer.from('HYLL'))).toBeUndefined();
    expect(hllRegisters(Buffer.from('hello world, not an HLL'))).toBeUndefined();
    const dense = denseHll(new Uint8Array(16384));
    expect(hllRegisters(dense.subarray(0, dense.length - 1))).toBeUndefined(); // truncated
    const sparse = sparseHll(new Uint8Array(16384));
    expect(hllRegisters(sparse.subarray(0, sparse.length - 1))).toBeUndefined(); // runs short of 16384
    const bad = Buffer.from(dense);
    bad[4] = 7; // unknown encoding
    expect(hllRegisters(bad)).toBeUndefined();
  });
});

describe('key names shown to a person', () => {
  it('never show two different keys the same way', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (x, y) => {
        const a = Buffer.from(x);
        const b = Buffer.from(y);
        if (!a.equals(b)) expect(displayKey(a)).not.toBe(displayKey(b));
      }),
      { seed: SEED, numRuns: 2000 },
    );
    expect(displayKey(Buffer.from('session:42'))).toBe('session:42');
    expect(displayKey(Buffer.from([0xff, 0x00, 0x41, 0x0a]))).toBe('"\\xff\\x00A\\x0a"');
  });
});
