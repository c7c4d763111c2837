import { readFileSync } from 'node:fs';
import { readJournal, verifyChain } from '../journal/journal.js';
import type { JournalEvent } from '../journal/events.js';
import type { RunLocation } from '../journal/runs.js';
import { buildReportModel, type BuildReportOptions } from './build-model.js';
import type { IntegrityReport, ReportModel } from './model.js';

export interface LoadedJournal {
  events: JournalEvent[];
  integrity: IntegrityReport;
}

/**
 * Reads a journal and verifies its hash chain, with the break placed on the file's real line
 * (blank and torn lines shift lines against event positions).
 */
export function loadJournal(journalPath: string): LoadedJournal {
  const journal = readJournal(journalPath);
  const chain = verifyChain(journal);
  let breakAt = chain.breakAt;
  if (breakAt !== undefined && breakAt.seq !== -1) {
    const fileLines = readFileSync(journalPath, 'utf8').split('\n');
    const lineOfEvent: number[] = [];
    let j = 0;
    fileLines.forEach((text, i) => {
      if (j < journal.lines.length && text === journal.lines[j]) {
        lineOfEvent.push(i + 1);
        j++;
      }
    });
    const index = breakAt.line - 1;
    breakAt = { ...breakAt, line: lineOfEvent[index] ?? breakAt.line };
  }
  return {
    events: journal.events,
    integrity: {
      verified: chain.ok,
      events: chain.events,
      breakAt,
      tornTail: chain.tornTail,
      corruptLines: journal.corrupt.map((c) => c.line),
    },
  };
}

/** Loads a run's journal and builds its report model. */
export function loadReportModel(run: RunLocation, options: BuildReportOptions = {}): ReportModel {
  const { events, integrity } = loadJournal(run.journalPath);
  return buildReportModel({ runId: run.id, events, integrity }, options);
}
