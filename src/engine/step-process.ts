import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalEvent } from '../journal/events.js';

/** A run step's process group as journaled before its command ran (`step-process`). */
export type StepProcess = Extract<JournalEvent, { type: 'step-process' }>;

interface ProcStat {
  pid: number;
  pgrp: number;
  state: string;
  /** Field 22: start time in clock ticks since boot (a string: it can pass 2^53 in theory). */
  startTime: string;
}

function readStat(pid: number | string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid: Number(pid), state: rest[0]!, pgrp: Number(rest[2]), startTime: rest[19]! };
}

/** pgid and start time of a process just spawned, for the journal (undefined off Linux). */
export function describeProcess(pid: number): { pgid: number; startTime?: string } {
  const st = readStat(pid);
  return st === undefined ? { pgid: pid } : { pgid: st.pgrp, startTime: st.startTime };
}

/**
 * The live members of a journaled step's process group. A member that started before the
 * step's own process is not of it (its pid was reused), nor is a zombie.
 */
export function liveGroupMembers(p: Pick<StepProcess, 'pgid' | 'startTime'>): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const st = readStat(n);
    if (st === undefined || st.pgrp !== p.pgid || st.state === 'Z') continue;
    if (p.startTime !== undefined) {
      // The step's process leads its group (pid = pgid). A leader with another start time means
      // the pgid was reused by a new group after ours ended (Linux reuses a pgid only once no
      // member of the old group lives): none of it is the step's.
      if (st.pid === p.pgid && st.startTime !== p.startTime) return [];
      if (BigInt(st.startTime) < BigInt(p.startTime)) continue;
    }
    out.push(st.pid);
  }
  return out;
}

/** The last journaled process of each step. */
export function lastStepProcesses(events: readonly JournalEvent[]): Map<string, StepProcess> {
  const out = new Map<string, StepProcess>();
  for (const e of events) if (e.type === 'step-process') out.set(e.step, e);
  return out;
}

/** Steps among `ids` whose process group still runs on this host (other hosts: not judged). */
export function stillRunning(
  events: readonly JournalEvent[],
  ids: readonly string[],
): { step: string; process: StepProcess; members: number[] }[] {
  const procs = lastStepProcesses(events);
  const out: { step: string; process: StepProcess; members: number[] }[] = [];
  for (const id of ids) {
    const p = procs.get(id);
    if (p === undefined || p.host !== hostname()) continue;
    const members = liveGroupMembers(p);
    if (members.length > 0) out.push({ step: id, process: p, members });
  }
  return out;
}

/** Waits until the group has no live member; `onWait` is told every `everyMs`. */
export async function waitForGroup(
  p: StepProcess,
  onWait: (members: number[]) => void,
  everyMs = 10_000,
): Promise<void> {
  let last = 0;
  for (;;) {
    const members = liveGroupMembers(p);
    if (members.length === 0) return;
    if (Date.now() - last >= everyMs) {
      onWait(members);
      last = Date.now();
    }
    await sleep(200);
  }
}

/** SIGTERM to the group, SIGKILL after `graceMs`, then waits until it is gone. */
export async function killGroup(p: StepProcess, graceMs = 5_000): Promise<void> {
  const send = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-p.pgid, sig);
    } catch {
      /* gone */
    }
  };
  if (liveGroupMembers(p).length === 0) return;
  send('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (liveGroupMembers(p).length === 0) return;
    await sleep(100);
  }
  send('SIGKILL');
  await waitForGroup(p, () => undefined);
}
