import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { redactStrings } from '../../src/report/redact-model.js';
import { clearSecrets, redact, redactTruncated, registerSecret } from '../../src/util/redact.js';

/** Masking is linear in the text and never leaks a secret across the chunks it cuts text into. */
afterEach(() => clearSecrets());

function timeMs(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

describe('redact: linear time', () => {
  it('masks a 1 MB line of letters (the old URL pattern was quadratic: 8.8 s for 80 KB)', () => {
    // Limits are generous for a loaded CI machine; the old pattern took 5 s for 40 KB.
    const line = 'a'.repeat(1_000_000);
    expect(timeMs(() => redact(line))).toBeLessThan(2_000);
    expect(timeMs(() => redact(`${'x'.repeat(500_000)}://u:${'p'.repeat(500_000)}`))).toBeLessThan(2_000);
    expect(timeMs(() => redact('password '.repeat(100_000)))).toBeLessThan(2_000);
    expect(timeMs(() => redact('://a:'.repeat(200_000)))).toBeLessThan(2_000);
  });

  it('masks a 10 MB line in seconds, not hours (a quadratic pattern would take hours)', () => {
    const line = 'ab1:password x://'.repeat(600_000);
    expect(timeMs(() => redact(line))).toBeLessThan(10_000);
  });
});

describe('redact: masking', () => {
  it('still masks URL passwords, key=value pairs and registered secrets', () => {
    registerSecret('s3cr3t value');
    expect(redact('mysql://root:pw@h:3306/db redis://:abc@h')).toBe(
      'mysql://root:***@h:3306/db redis://:***@h',
    );
    expect(redact('password = hunter2 token: "t0k"')).toBe('password = *** token: "***"');
    expect(redact('it is s3cr3t value here')).toBe('it is *** here');
  });

  it('keeps MySQL\'s "(using password: YES)" but masks a password value after "using"', () => {
    const denied = "Access denied for user 'app'@'10.0.0.5' (using password: YES)";
    expect(redact(denied)).toBe(denied);
    expect(redact("Access denied for user 'app'@'h' (using password: NO)")).toMatch(/using password: NO\)$/);
    expect(redact('using password: hunter2')).toBe('using password: ***');
    expect(redact('password: YES)')).toBe('password: ***');
    expect(redact('using password: YESSIR)')).toBe('using password: ***');
    expect(redact('using password=YES) and password=YES)')).toBe('using password=YES) and password=***');
  });

  it('chunked masking of long text never leaves part of a secret (seeded property)', () => {
    const secret = 'Zq9-secret-Zq9';
    registerSecret(secret);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', ' ', '=', 'password=', secret, 'x://u:pw@h ', '\n'), { maxLength: 40 }),
        fc.integer({ min: 0, max: 300_000 }),
        (parts, pad) => {
          const text =
            'b'.repeat(pad) + ' ' + parts.join('') + ' ' + secret + ' ' + 'c'.repeat(300_000 - pad);
          const out = redact(text);
          expect(out.includes('Zq9-s')).toBe(false);
          expect(out.includes('u:pw@')).toBe(false);
        },
      ),
      { seed: 20261129, numRuns: 40 },
    );
  });

  it('a truncated line never keeps the beginning of a secret or of a password', () => {
    registerSecret('top secret words');
    const head = 'x'.repeat(95);
    expect(redactTruncated(`${head} top secret words and more`, 103).trimEnd()).toBe(head);
    expect(redactTruncated(`${head} top secret`, 103).trimEnd()).toBe(head);
    expect(redactTruncated(`${head} password=abcdefghij`, 110).trimEnd()).toBe(head);
    expect(redactTruncated(`${head} mysql://u:pwpwpwpwpw@h`, 112).trimEnd()).toBe(head);
  });
});

describe('redactStrings (the report model): copy on write', () => {
  it('masks a secret at any depth, in values and keys, and shares only what holds none', () => {
    registerSecret('hunter2-the-password');
    const clean = { id: 's1', needs: ['a', 'b'], n: 3, ok: true, none: null, gone: undefined };
    const model = {
      run: { id: 'r', notes: ['fine'] },
      steps: [clean, { id: 's2', output: ['x', { line: 'login hunter2-the-password ok' }] }],
      byKey: { 'hunter2-the-password': 1, plain: 2 },
    };
    const before = structuredClone(model);
    const out = redactStrings(model);
    const text = JSON.stringify(out);
    expect(text).not.toContain('hunter2-the-password');
    const line = (out.steps[1] as unknown as { output: [string, { line: string }] }).output[1].line;
    expect(line.startsWith('login ') && line.endsWith(' ok')).toBe(true);
    expect(Object.keys(out.byKey)).toHaveLength(2);
    expect(out.byKey.plain).toBe(2);
    // What held no secret is the same object; what did is a copy; the input is untouched.
    expect(out.run).toBe(model.run);
    expect(out.steps[0]).toBe(clean);
    expect(out.steps).not.toBe(model.steps);
    expect(out.steps[1]).not.toBe(model.steps[1]);
    expect(model).toEqual(before);
    expect(Object.keys(out.steps[0]!)).toEqual(Object.keys(clean));
  });

  it('on random JSON with a planted secret: equal to a deep copy-and-mask, and the secret never survives', () => {
    registerSecret('S3cr3t-Pl4nted');
    const deepMask = (v: unknown): unknown =>
      typeof v === 'string'
        ? redact(v)
        : Array.isArray(v)
          ? v.map(deepMask)
          : v !== null && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), deepMask(x)]))
            : v;
    const leaf = fc.oneof(
      fc.string(),
      fc.constant('pw=S3cr3t-Pl4nted'),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.jsonValue().chain((j) => fc.tuple(fc.constant(j), leaf)),
        ([json, planted]) => {
          const value = { json, list: [json, planted], [String(planted)]: planted };
          const out = redactStrings(value);
          expect(out).toEqual(deepMask(value));
          expect(JSON.stringify(out)).not.toContain('S3cr3t-Pl4nted');
        },
      ),
    );
  });
});
