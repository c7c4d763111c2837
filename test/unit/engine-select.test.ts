import { describe, expect, it } from 'vitest';
import { selectSteps } from '../../src/engine/select.js';
import { UsageError } from '../../src/errors.js';
import { makeStep, runAction } from '../fixtures/engine-runbook.js';

const steps = [
  makeStep('declare', runAction(['true'])),
  makeStep('switch-a', runAction(['true']), { needs: ['declare'] }),
  makeStep('switch-b', runAction(['true']), { needs: ['declare'] }),
  makeStep('verify', runAction(['true']), { needs: ['switch-a', 'switch-b'] }),
];

describe('selectSteps', () => {
  it('selects everything when neither option is given', () => {
    expect(selectSteps(steps, undefined, undefined)).toBeUndefined();
  });
  it('selects ids and globs with --only', () => {
    expect([...selectSteps(steps, 'switch-*,verify', undefined)!].sort()).toEqual([
      'switch-a',
      'switch-b',
      'verify',
    ]);
  });
  it('selects a step and everything downstream with --from', () => {
    expect([...selectSteps(steps, undefined, 'switch-a')!].sort()).toEqual(['switch-a', 'verify']);
  });
  it('refuses patterns that match no step', () => {
    expect(() => selectSteps(steps, 'nope-*', undefined)).toThrow(UsageError);
    expect(() => selectSteps(steps, undefined, 'nope')).toThrow(/--from nope matches no step/);
    expect(() => selectSteps(steps, 'declare', 'verify')).toThrow(/select no step/);
  });
});
