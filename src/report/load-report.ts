import { UsageError } from '../errors.js';
import { checkJournal, type ChainVerification } from '../journal/journal.js';
import type { JournalEvent } from '../journal/events.js';
import type { RunLocation } from '../journal/runs.js';
import { buildReportModel, type BuildReportOptions } from './build-model.js';
import type { IntegrityReport, ReportModel } from './model.js';

export interface LoadedJournal {
  events: JournalEvent[];
  /** The hash chain and head verification the integrity report was built from. */
  chain: ChainVerification;
  integrity: IntegrityReport;
}

/** What a line cut short by a crash looks like: the start of a serialized event. */
const TORN_EVENT_PREFIX = '{"seq":';

/**
 * Reads a journal and verifies its hash chain, with breaks placed on the file's real line.
 * Stricter than readJournal about lines it skips: only the start of an event cut short by a
 * crash may sit between events; anything else (an inserted or damaged line) breaks integrity.
 */
export function loadJournal(journalPath: string): LoadedJournal {
  // One read of the file for the events, the head check and the line numbers: a running drctl
  // appends while we read, and a second read would see its new lines as strays.
  const { journal, chain, text } = checkJournal(journalPath);
  const fileLines = text.split('\n');
  const lineOfEvent: number[] = [];
  const strays: number[] = [];
  let j = 0;
  fileLines.forEach((text, i) => {
    if (text === '') return;
    if (j < journal.lines.length && text === journal.lines[j]) {
      lineOfEvent.push(i + 1);
      j++;
    } else if (!text.startsWith(TORN_EVENT_PREFIX) || isJson(text)) {
      strays.push(i + 1);
    }
  });
  let breakAt = chain.breakAt;
  if (breakAt !== undefined && breakAt.seq !== -1) {
    breakAt = { ...breakAt, line: lineOfEvent[breakAt.line - 1] ?? breakAt.line };
  }
  const corruptLines = [...new Set([...journal.corrupt.map((c) => c.line), ...strays])].sort((a, b) => a - b);
  if (breakAt === undefined && corruptLines.length > 0) {
    breakAt = {
      seq: -1,
      line: corruptLines[0]!,
      reason: 'line is not a journal event (inserted or damaged)',
    };
  }
  return {
    events: journal.events,
    chain,
    integrity: {
      verified: breakAt === undefined,
      events: chain.events,
      breakAt,
      tornTail: chain.tornTail,
      corruptLines,
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Loads a run's journal and builds its report model. */
export function loadReportModel(run: RunLocation, options: BuildReportOptions = {}): ReportModel {
  const { events, integrity } = loadJournal(run.journalPath);
  if (events.length === 0) {
    throw new UsageError(`run ${run.id} has no events in its journal (${run.journalPath})`, {
      hint: 'drctl stopped before it recorded anything; there is nothing to report',
    });
  }
  return buildReportModel({ runId: run.id, events, integrity }, options);
}
