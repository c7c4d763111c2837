import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RunbookError } from '../../src/errors.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { writeTree } from './runbook-helpers.js';

/** Never an uncaught exception: every input either loads or gives a RunbookError. */
function loadsOrReports(file: string): void {
  try {
    loadRunbook(file, { lenientSecrets: true });
  } catch (err) {
    if (!(err instanceof RunbookError)) throw err;
    expect(err.diagnostics.length).toBeGreaterThan(0);
    for (const d of err.diagnostics) expect(d.message.length).toBeGreaterThan(0);
  }
}

const key = fc.constantFrom(
  'id',
  'owner',
  'needs',
  'run',
  'sql',
  'redis',
  'http',
  'wait',
  'manual',
  'check',
  'timeout',
  'retries',
  'estimate',
  'onFailure',
  'rollback',
  'drill',
  'when',
  'foreach',
  'as',
  'template',
  'with',
  'switchback',
  'resource',
  'bogus',
  'until',
  'statements',
  'kind',
  'set',
);
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '10m',
    'ten',
    'SRE',
    '${vars.x}',
    '${env:NOPE}',
    'a-*',
    '${file:nope.yaml}',
    'mysql',
    'core',
  ),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { maxDepth: 3 },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('loadRunbook never throws anything but a RunbookError', () => {
  const dir = writeTree({});
  const file = join(dir, 'fuzz.yaml');

  it('on random structured runbooks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(key, value, { maxKeys: 6 }), { maxLength: 5 }),
        value,
        (steps, extra) => {
          const doc = {
            apiVersion: 'drctl/v1',
            kind: 'Runbook',
            name: 'fuzz',
            roles: { SRE: {} },
            resources: { core: { kind: 'mysql', primary: 'mysql://a@h', replica: 'mysql://a@r' } },
            vars: { x: extra },
            rto: { technical: { from: 'a', to: 'b' } },
            steps,
          };
          writeFileSync(file, stringify(doc));
          loadsOrReports(file);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('on random text', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300, unit: fc.constantFrom(...'ab:- \n{}[]"\'&*!|>%@`#,?\t$'.split('')) }),
        (text) => {
          writeFileSync(file, text);
          loadsOrReports(file);
        },
      ),
      { numRuns: 300 },
    );
  });
});
