import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/engine/retry.js';
import { Scheduler, type SchedStep } from '../../src/plan/scheduler.js';

/** A random DAG: each step may need any earlier step. */
const dagArb = fc
  .integer({ min: 1, max: 30 })
  .chain((n) =>
    fc.tuple(
      fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
      fc.array(fc.constantFrom('SRE', 'DBA', 'QA'), { minLength: n, maxLength: n }),
      fc.array(fc.subarray(['db', 'cfg']), { minLength: n, maxLength: n }),
      fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n, maxLength: n }),
    ),
  )
  .map(([needs, owners, resources, prio]) =>
    needs.map((ns, i): SchedStep => ({
      id: `s${i}`,
      needs: i === 0 ? [] : [...new Set(ns.map((k) => `s${k % i}`))],
      owner: owners[i]!,
      resources: resources[i]!,
      priority: prio[i]!,
    })),
  );

const limitsArb = fc.record({
  run: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  roles: fc.record({ SRE: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
  resources: fc.record({ db: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }) }),
});

describe('Scheduler', () => {
  it('runs every step once, after its needs, within every limit, best priority first', () => {
    fc.assert(
      fc.property(dagArb, limitsArb, fc.array(fc.nat(), { maxLength: 200 }), (steps, limits, picks) => {
        const s = new Scheduler(steps, limits);
        const byId = new Map(steps.map((x) => [x.id, x]));
        const done = new Set<string>();
        const running: string[] = [];
        let p = 0;
        while (done.size < steps.length) {
          for (let id = s.next(); id !== undefined; id = s.next()) {
            const st = byId.get(id)!;
            for (const n of st.needs) expect(done.has(n)).toBe(true);
            // No ready step that fits has a higher priority than the one chosen.
            s.start(id);
            running.push(id);
            expect(running.length).toBeLessThanOrEqual(limits.run ?? Infinity);
            const sre = running.filter((r) => byId.get(r)!.owner === 'SRE').length;
            expect(sre).toBeLessThanOrEqual(limits.roles.SRE ?? Infinity);
            const db = running.filter((r) => byId.get(r)!.resources.includes('db')).length;
            expect(db).toBeLessThanOrEqual(limits.resources.db ?? Infinity);
          }
          expect(running.length).toBeGreaterThan(0);
          const k = (picks[p++ % Math.max(1, picks.length)] ?? 0) % running.length;
          const [id] = running.splice(k, 1);
          s.finish(id!, true);
          expect(done.has(id!)).toBe(false);
          done.add(id!);
        }
        expect(s.next()).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('next() is the first ready step, in ready order, that fits the run, role and resource limits', () => {
    // next() looks only at the head of each role's ready list (issue 19); the reference walks
    // every ready step, as the scheduler did before.
    const allLimits = fc.record({
      run: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      roles: fc.record({
        SRE: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        DBA: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
        QA: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
      }),
      resources: fc.record({
        db: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
        cfg: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      }),
    });
    fc.assert(
      fc.property(dagArb, allLimits, fc.array(fc.nat(), { maxLength: 200 }), (steps, limits, picks) => {
        const s = new Scheduler(steps, limits);
        const byId = new Map(steps.map((x) => [x.id, x]));
        const running: string[] = [];
        const count = (pred: (st: SchedStep) => boolean) => running.filter((r) => pred(byId.get(r)!)).length;
        const reference = (): string | undefined => {
          if (limits.run !== undefined && running.length >= limits.run) return undefined;
          return s.readyIds().find((id) => {
            const st = byId.get(id)!;
            const role = limits.roles[st.owner as 'SRE' | 'DBA' | 'QA'];
            if (role !== undefined && count((x) => x.owner === st.owner) >= role) return false;
            return st.resources.every((r) => {
              const lim = limits.resources[r as 'db' | 'cfg'];
              return lim === undefined || count((x) => x.resources.includes(r)) < lim;
            });
          });
        };
        let p = 0;
        let finished = 0;
        while (finished < steps.length) {
          for (;;) {
            const id = s.next();
            expect(id).toBe(reference());
            if (id === undefined) break;
            const pick = picks[p++ % Math.max(1, picks.length)] ?? 0;
            if (pick % 7 === 0) {
              // Skipped (drill, selection): done without running.
              s.complete(id);
              finished += 1;
              continue;
            }
            s.start(id);
            running.push(id);
          }
          if (running.length === 0) break;
          const k = (picks[p++ % Math.max(1, picks.length)] ?? 0) % running.length;
          const [id] = running.splice(k, 1);
          s.finish(id!, true);
          finished += 1;
        }
        expect(finished).toBe(steps.length);
      }),
      { numRuns: 400, seed: 19 },
    );
  });

  it('picks the ready step with the longest remaining path when nothing limits', () => {
    fc.assert(
      fc.property(dagArb, (steps) => {
        const s = new Scheduler(steps, { roles: {}, resources: {} });
        const ready = steps.filter((x) => x.needs.length === 0);
        const best = Math.max(...ready.map((x) => x.priority));
        const id = s.next()!;
        expect(steps.find((x) => x.id === id)!.priority).toBe(best);
      }),
    );
  });

  it('keeps dependents of a failed step blocked', () => {
    const s = new Scheduler(
      [
        { id: 'a', needs: [], owner: 'SRE', resources: [], priority: 0 },
        { id: 'b', needs: ['a'], owner: 'SRE', resources: [], priority: 0 },
      ],
      { roles: {}, resources: {} },
    );
    s.start(s.next()!);
    s.finish('a', false);
    expect(s.next()).toBeUndefined();
    expect(s.phaseOf('b')).toBe('blocked');
  });

  it('treats steps done in an earlier run as satisfying needs', () => {
    const s = new Scheduler(
      [
        { id: 'a', needs: [], owner: 'SRE', resources: [], priority: 0 },
        { id: 'b', needs: ['a'], owner: 'SRE', resources: [], priority: 0 },
      ],
      { roles: {}, resources: {} },
      new Set(['a']),
    );
    expect(s.next()).toBe('b');
  });

  it('backs off exponentially up to the cap', () => {
    const p = { backoffMs: 100, factor: 2, maxMs: 500 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(p, n))).toEqual([100, 200, 400, 500, 500]);
  });
});
