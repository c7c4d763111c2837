import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunbookError } from '../../src/errors.js';
import { mergeTemplate } from '../../src/runbook/expand.js';
import { loadRunbook } from '../../src/runbook/load.js';

/** --var names nothing reads are refused; templates merge deeply. */
function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'drctl-vars-'));
  const file = join(dir, 'rb.yaml');
  writeFileSync(file, text);
  return file;
}

const RUNBOOK = [
  'apiVersion: drctl/v1',
  'kind: Runbook',
  'name: vars',
  'roles: { SRE: {} }',
  'vars: { wave: 1 }',
  'steps:',
  '  - { id: a, owner: SRE, run: [echo, "wave ${vars.wave}"] }',
  '  - { id: special, owner: SRE, run: [echo, special], when: { vars: { mode: special } } }',
].join('\n');

function errorsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    if (err instanceof RunbookError) return err.diagnostics.map((d) => `${d.message} | ${d.hint ?? ''}`);
    throw err;
  }
  return [];
}

describe('--var', () => {
  it('refuses a var nothing reads, with a guess', () => {
    const file = write(RUNBOOK);
    const errors = errorsOf(() => loadRunbook(file, { vars: { mdoe: 'special' } }));
    expect(errors, errors.join('\n')).toHaveLength(1);
    expect(errors[0]).toMatch(
      /--var mdoe: nothing in the runbook reads a var named "mdoe" \| did you mean --var mode=/,
    );
  });

  it('accepts a declared var, one read by ${vars.x}, and one tested by when.vars', () => {
    const file = write(RUNBOOK);
    const rb = loadRunbook(file, { vars: { wave: '2', mode: 'special' } });
    expect(rb.steps.map((s) => s.id)).toEqual(['a', 'special']);
  });
});

describe('templates', () => {
  it('merge deeply: mappings key by key (the step wins), lists replaced', () => {
    expect(
      mergeTemplate(
        { owner: 'SRE', redis: { resource: 'c', set: { a: 1 } }, needs: ['x'], with: { k: 1, j: 2 } },
        { redis: { expect: { a: 1 } }, needs: ['y'], with: { k: 3 } },
      ),
    ).toEqual({
      owner: 'SRE',
      redis: { resource: 'c', set: { a: 1 }, expect: { a: 1 } },
      needs: ['y'],
      with: { k: 3, j: 2 },
    });
  });
});
