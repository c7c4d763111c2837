import { z } from 'zod';
import { ModuleFileSchema, RunbookFileSchema, StepSourceSchema, StepSpecSchema } from './schema.js';

/**
 * JSON Schema for editors, generated from the zod schema (runbooks/runbook.schema.json is
 * kept equal to it by a test). A file is either a Runbook or a Module. Steps are described as
 * written: every step field (optional, since a template may supply it) plus template, with,
 * foreach, as and switchback.
 */
export function runbookJsonSchema(): Record<string, unknown> {
  const io = { io: 'input' as const, unrepresentable: 'any' as const };
  const stepAsWritten = StepSpecSchema.partial().extend({ ...StepSourceSchema.shape });
  const step = z.toJSONSchema(stepAsWritten, io) as Record<string, unknown>;
  const withSteps = (schema: z.ZodObject) => {
    const out = z.toJSONSchema(schema.extend({ steps: z.array(z.unknown()).optional() }), io) as Record<
      string,
      unknown
    >;
    delete out.$schema;
    (out.properties as Record<string, unknown>).steps = { type: 'array', items: { $ref: '#/$defs/Step' } };
    return out;
  };
  delete step.$schema;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'drctl runbook or module (drctl/v1)',
    anyOf: [{ $ref: '#/$defs/Runbook' }, { $ref: '#/$defs/Module' }],
    $defs: { Runbook: withSteps(RunbookFileSchema), Module: withSteps(ModuleFileSchema), Step: step },
  };
}
