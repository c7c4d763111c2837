import { z } from 'zod';

/** One side of an es resource (runbook) and what the checker connects to: one declaration. */
export const esEndpointSchema = z.strictObject({
  url: z.string(),
  username: z.string().optional(),
  password: z.string().optional(),
  apiKey: z.string().optional(),
});

export type EsEndpoint = z.infer<typeof esEndpointSchema>;
