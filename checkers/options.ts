import type { z } from 'zod';
import { esOptionsSchema } from './es/options.js';
import { mysqlOptionsSchema } from './mysql/options.js';
import { redisOptionsSchema } from './redis/options.js';
import { s3OptionsSchema } from './s3/options.js';
import type { CheckTarget } from './types.js';

/**
 * Option schemas by checker kind, cheap to import (no drivers): the runbook loader validates
 * `check:` steps with them so a typo is reported at its line before the night, not at 3 a.m.
 * A kind missing here has no checker yet; its steps fail when run (never pass).
 */
export const checkerOptionSchemas: Partial<Record<CheckTarget['kind'], z.ZodType>> = {
  mysql: mysqlOptionsSchema,
  s3: s3OptionsSchema,
  es: esOptionsSchema,
  redis: redisOptionsSchema,
};
