import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter, readJournal, verifyChain } from '../../src/journal/journal.js';
import { registerSecret } from '../../src/util/redact.js';

const file = () => join(mkdtempSync(join(tmpdir(), 'drctl-j-')), 'journal.jsonl');

describe('journal', () => {
  it('chains events by sha-256 and verifies', () => {
    const f = file();
    const w = JournalWriter.open(f);
    w.append({ type: 'step-started', step: 'a', attempt: 1 });
    w.append({ type: 'step-finished', step: 'a', status: 'succeeded', durationMs: 5, attempts: 1 });
    w.close();
    const j = readJournal(f);
    expect(j.events.map((e) => [e.seq, e.type])).toEqual([
      [0, 'step-started'],
      [1, 'step-finished'],
    ]);
    expect(verifyChain(j)).toEqual({ ok: true, events: 2, tornTail: false });
  });

  it('detects an altered event and says where', () => {
    const f = file();
    const w = JournalWriter.open(f);
    for (const s of ['a', 'b', 'c']) w.append({ type: 'step-skipped', step: s, reason: 'x' });
    w.close();
    writeFileSync(f, readFileSync(f, 'utf8').replace('"step":"b"', '"step":"B"'));
    const v = verifyChain(readJournal(f));
    expect(v.ok).toBe(false);
    expect(v.breakAt).toMatchObject({ seq: 2, line: 3 });
  });

  it('tolerates a torn last line and continues the chain after it', () => {
    const f = file();
    const w = JournalWriter.open(f);
    w.append({ type: 'step-skipped', step: 'a', reason: 'x' });
    w.close();
    appendFileSync(f, '{"seq":1,"ts":"2026-');
    expect(readJournal(f).tornTail).toBe('{"seq":1,"ts":"2026-');
    const w2 = JournalWriter.open(f);
    w2.append({ type: 'step-skipped', step: 'b', reason: 'y' });
    w2.close();
    const j = readJournal(f);
    expect(j.events.map((e) => e.seq)).toEqual([0, 1]);
    expect(verifyChain(j)).toMatchObject({ ok: true, tornTail: true });
  });

  it('never writes a registered secret', () => {
    const f = file();
    registerSecret('hunter2-very-secret');
    const w = JournalWriter.open(f);
    w.append({
      type: 'step-finished',
      step: 'a',
      status: 'failed',
      durationMs: 1,
      attempts: 1,
      error: 'login hunter2-very-secret refused for mysql://u:pw123@h',
    });
    w.close();
    const text = readFileSync(f, 'utf8');
    expect(text).not.toContain('hunter2-very-secret');
    expect(text).not.toContain('pw123');
  });
});
