import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RunbookError, formatDiagnostic } from '../../src/errors.js';
import { loadRunbook, type LoadOptions, type LoadedRunbook } from '../../src/runbook/load.js';

/** Writes files into a fresh temp dir and returns its path. */
export function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'drctl-rb-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** Loads and returns the formatted diagnostics (empty when it loads). */
export function loadErrors(file: string, options: LoadOptions = {}): string[] {
  try {
    loadRunbook(file, options);
    return [];
  } catch (err) {
    if (err instanceof RunbookError)
      return err.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw err;
  }
}

export function loadOk(file: string, options: LoadOptions = {}): LoadedRunbook {
  return loadRunbook(file, options);
}

export const HEADER = `apiVersion: drctl/v1
kind: Runbook
name: t
roles: { SRE: {}, DBA: {}, QA: {}, PM: {} }
`;
