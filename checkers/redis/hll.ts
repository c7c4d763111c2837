/**
 * HyperLogLog values as Redis stores them (a string starting with "HYLL"), decoded to their
 * 16384 six-bit registers. Two HLLs hold the same data exactly when their registers are equal:
 * the header's cached cardinality (rewritten by PFCOUNT, even on a replica) and the sparse or
 * dense encoding are representation, not data. Layout from Redis src/hyperloglog.c.
 */

const HLL_REGISTERS = 16384;
const HLL_BITS = 6;
const HLL_HDR_SIZE = 16;
const HLL_DENSE_SIZE = HLL_HDR_SIZE + Math.ceil((HLL_REGISTERS * HLL_BITS) / 8);
const HLL_DENSE = 0;
const HLL_SPARSE = 1;
const MAGIC = Buffer.from('HYLL');

/** The registers of a valid HLL string, or undefined when `raw` is not one (a plain string). */
export function hllRegisters(raw: Buffer): Uint8Array | undefined {
  if (raw.length < HLL_HDR_SIZE || !raw.subarray(0, 4).equals(MAGIC)) return undefined;
  const encoding = raw[4];
  const data = raw.subarray(HLL_HDR_SIZE);
  if (encoding === HLL_DENSE) return raw.length === HLL_DENSE_SIZE ? denseRegisters(data) : undefined;
  if (encoding === HLL_SPARSE) return sparseRegisters(data);
  return undefined;
}

function denseRegisters(p: Buffer): Uint8Array {
  const out = new Uint8Array(HLL_REGISTERS);
  for (let r = 0; r < HLL_REGISTERS; r++) {
    const byte = (r * HLL_BITS) >> 3;
    const fb = (r * HLL_BITS) & 7;
    const b0 = p[byte] ?? 0;
    const b1 = p[byte + 1] ?? 0; // the last register reads the string's terminating zero
    out[r] = ((b0 >> fb) | (b1 << (8 - fb))) & 63;
  }
  return out;
}

/** Sparse opcodes: ZERO 00xxxxxx, XZERO 01xxxxxx yyyyyyyy, VAL 1vvvvvxx. Undefined if malformed. */
function sparseRegisters(p: Buffer): Uint8Array | undefined {
  const out = new Uint8Array(HLL_REGISTERS);
  let idx = 0;
  let i = 0;
  while (i < p.length) {
    const op = p[i]!;
    if ((op & 0xc0) === 0x00) {
      idx += (op & 0x3f) + 1;
      i += 1;
    } else if ((op & 0xc0) === 0x40) {
      if (i + 1 >= p.length) return undefined;
      idx += (((op & 0x3f) << 8) | p[i + 1]!) + 1;
      i += 2;
    } else {
      const value = ((op >> 2) & 0x1f) + 1;
      const run = (op & 0x03) + 1;
      if (idx + run > HLL_REGISTERS) return undefined;
      out.fill(value, idx, idx + run);
      idx += run;
      i += 1;
    }
    if (idx > HLL_REGISTERS) return undefined;
  }
  return idx === HLL_REGISTERS ? out : undefined;
}

/** A dense HLL string holding `registers` (cache marked invalid): the same data, another encoding. */
export function denseHll(registers: Uint8Array): Buffer {
  const out = Buffer.alloc(HLL_DENSE_SIZE);
  MAGIC.copy(out, 0);
  out[4] = HLL_DENSE;
  out[15] = 0x80; // HLL_INVALIDATE_CACHE: PFCOUNT recomputes
  const p = out.subarray(HLL_HDR_SIZE);
  for (let r = 0; r < HLL_REGISTERS; r++) {
    const v = registers[r]! & 63;
    const byte = (r * HLL_BITS) >> 3;
    const fb = (r * HLL_BITS) & 7;
    p[byte] = (p[byte]! & ~(63 << fb)) | ((v << fb) & 0xff);
    if (fb > 2) p[byte + 1] = (p[byte + 1]! & ~(63 >> (8 - fb))) | (v >> (8 - fb));
  }
  return out;
}
