import type { z } from 'zod';
import { checkerModules } from './index.js';

/**
 * Option schemas by checker kind, cheap to import (no drivers), derived from the registry: the
 * runbook loader validates `check:` steps with them so a typo is reported at its line before
 * the night, not at 3 a.m.
 */
export const checkerOptionSchemas: Partial<Record<string, z.ZodType>> = Object.fromEntries(
  checkerModules().map((m) => [m.kind, m.optionsSchema]),
);
