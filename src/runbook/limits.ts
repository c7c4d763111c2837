/**
 * Limits of the runbook loader (docs/runbook.md "Limits"). Each keeps a wrong or hostile input
 * from exhausting memory or the stack; each is far above what a bank's runbook needs (the
 * examples under runbooks/: ~650 steps in id-bank, 105 KB in all, nesting depth 7).
 */
export { MAX_INTERPOLATED_FILE_BYTES, MAX_RUNBOOK_FILE_BYTES } from './read-bounded.js';

/** Steps of one direction after templates and foreach (a 50,000-step chain validates in seconds). */
export const MAX_STEPS = 50_000;

/** Depth of nested mappings and lists in a runbook file (deeper recursion overflows the stack). */
export const MAX_NESTING_DEPTH = 64;

/** Length of one string value in a runbook file, in characters (a long SQL script fits). */
export const MAX_STRING_LENGTH = 1024 * 1024;
