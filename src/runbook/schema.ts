import { z } from 'zod';
import { checkerModules, registeredKinds, type CheckerKind, type checkers } from '../../checkers/index.js';
import { parseDuration } from '../util/duration.js';
import { remoteLogResourceFields } from '../reconcile/spec.js';

/**
 * The runbook language (drctl/v1). Two layers:
 * - file schemas (`RunbookFileSchema`, `ModuleFileSchema`) check what a person wrote, before
 *   includes, templates and foreach are expanded;
 * - `StepSchema` checks each expanded step, whose action is a union tagged by `kind`.
 * The JSON Schema for editors (`drctl schema`) is generated from the file schemas.
 */

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A duration like `90s`, `10m`, `1h30m`. */
export const Duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, {
    error: (iss) => `expected a duration like 10m, got ${JSON.stringify(iss.input)}`,
  })
  .meta({ description: 'A duration: 90s, 10m, 1h30m, 250ms', examples: ['10m', '1h30m'] });

export const Direction = z.enum(['switchover', 'switchback']);
export type Direction = z.infer<typeof Direction>;

const StringOrList = z.union([z.string(), z.array(z.string())]);

/** A condition on direction, environment, drill mode or vars; all given parts must hold. */
export const WhenSchema = z
  .strictObject({
    direction: z.union([Direction, z.array(Direction)]).optional(),
    environment: StringOrList.optional(),
    drill: z.boolean().optional(),
    vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .meta({ description: 'Run the step only when every given condition holds' });

export const RetriesSchema = z.union([
  z.int().min(0).max(100),
  z.strictObject({
    count: z.int().min(0).max(100),
    backoff: Duration.optional().meta({ description: 'Delay before the first retry (default 5s)' }),
    factor: z.number().min(1).max(10).optional().meta({ description: 'Multiplier per retry (default 2)' }),
    max: Duration.optional().meta({ description: 'Longest delay between retries (default 5m)' }),
  }),
]);

// ---------- actions ----------

export const RunAction = z.strictObject({
  run: z.union([z.array(z.string()).min(1), z.string().min(1)]).meta({
    description: 'argv array (no shell), or a command line when `shell: true`',
  }),
  shell: z.boolean().optional(),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});

export const SqlAction = z.strictObject({
  sql: z.strictObject({
    resource: z.string(),
    on: z
      .enum(['primary', 'replica'])
      .optional()
      .meta({ description: 'Which side of the resource (default primary)' }),
    statements: z.union([z.string(), z.array(z.string()).min(1)]),
    expect: z
      .union([z.string(), z.number(), z.boolean(), z.null()])
      .optional()
      .meta({ description: 'Expected value of the first column of the first row of the last statement' }),
  }),
});

export const RedisAction = z.strictObject({
  redis: z
    .strictObject({
      resource: z.string(),
      set: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      get: z.string().optional(),
      del: StringOrList.optional(),
      expect: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
    })
    .refine((r) => r.set || r.get || r.del || r.expect, {
      error: 'give at least one of set, get, del, expect',
    }),
});

export const HttpAction = z.strictObject({
  http: z.strictObject({
    resource: z.string().optional().meta({
      description:
        "An http resource: its headers are sent (the step's own win), its ca is trusted, and a url starting with / is appended to its url",
    }),
    url: z.string().meta({ description: 'An absolute http(s) URL, or a path under the resource url' }),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    expect: z
      .strictObject({
        status: z.union([z.int(), z.array(z.int())]).optional(),
        body: z.string().optional().meta({ description: 'Substring the body must contain' }),
        bodyMatches: z.string().optional().meta({ description: 'Regular expression the body must match' }),
      })
      .optional(),
  }),
});

export const CheckAction = z.strictObject({
  check: z
    .looseObject({
      kind: z.enum(registeredKinds() as [CheckerKind, ...CheckerKind[]]),
      resource: z.string(),
    })
    .meta({ description: 'A built-in consistency checker as a gate; other fields are the checker options' }),
});

export const ManualAction = z.strictObject({
  manual: z.union([
    z.string().min(1),
    z.strictObject({
      instructions: z.string().min(1),
      approvers: z
        .array(z.string())
        .optional()
        .meta({ description: 'Roles that may approve besides the owner role' }),
      minApprovals: z.int().min(1).max(10).optional().meta({
        description:
          'Distinct people who must approve before the step passes (default 1; 2 is the four-eyes principle)',
      }),
    }),
  ]),
});

export const WaitAction = z.strictObject({
  wait: z.strictObject({
    until: z.record(z.string(), z.unknown()).meta({ description: 'A sql, redis, http or run condition' }),
    interval: Duration.optional().meta({ description: 'Delay between polls (default 5s)' }),
  }),
});

/** The action keys; a step has exactly one. */
export const ACTION_KEYS = ['run', 'sql', 'redis', 'http', 'wait', 'manual', 'check'] as const;
export type ActionKind = (typeof ACTION_KEYS)[number];

// ---------- steps ----------

const commonStepFields = {
  id: z
    .string()
    .regex(idPattern, 'ids use letters, digits, ".", "_" and "-", starting with a letter or digit'),
  title: z.string().optional(),
  description: z.string().optional(),
  owner: z.string().meta({ description: 'A declared role that owns and runs the step' }),
  phase: z.string().optional(),
  needs: z.array(z.string()).optional().meta({ description: 'Step ids or globs such as switch-*' }),
  timeout: Duration.optional(),
  retries: RetriesSchema.optional(),
  estimate: Duration.optional().meta({ description: 'Expected duration, for the plan and RTO forecast' }),
  onFailure: z.enum(['abort', 'continue', 'rollback']).optional(),
  when: WhenSchema.optional(),
  resource: z.string().optional().meta({ description: "Counts against this resource's concurrency limit" }),
  module: z.string().optional(),
};

/** Action fields only: what `rollback:` and `drill:` hold. */
const actionFields = {
  run: RunAction.shape.run.optional(),
  shell: z.boolean().optional(),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  sql: SqlAction.shape.sql.optional(),
  redis: RedisAction.shape.redis.optional(),
  http: HttpAction.shape.http.optional(),
  wait: WaitAction.shape.wait.optional(),
  manual: ManualAction.shape.manual.optional(),
  check: CheckAction.shape.check.optional(),
};

export const ActionSpecSchema = z.strictObject({ ...actionFields, timeout: Duration.optional() });

/** A step as written, after templates and foreach are expanded (all action keys optional). */
export const StepSpecSchema = z.strictObject({
  ...commonStepFields,
  ...actionFields,
  rollback: ActionSpecSchema.optional().meta({ description: 'An action that undoes this step' }),
  drill: z
    .union([z.enum(['skip', 'same']), ActionSpecSchema])
    .optional()
    .meta({ description: 'What the step does in a rehearsal: skip, same (default) or another action' }),
  unplanned: z
    .union([z.enum(['skip', 'run']), z.strictObject({ replace: ActionSpecSchema })])
    .optional()
    .meta({
      description:
        'What the step does in an unplanned switch (Main gone, drctl switch --unplanned): skip (e.g. stop traffic on Main), run (default) or { replace: <action> }',
    }),
});
export type StepSpec = z.infer<typeof StepSpecSchema>;

/** How a step is written in a file: it may also use a template, foreach and a switchback override. */
export const StepSourceSchema = z
  .looseObject({
    id: z.string(),
    template: z.string().optional(),
    with: z.record(z.string(), z.unknown()).optional(),
    foreach: z.union([z.string(), z.array(z.unknown())]).optional(),
    as: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
    switchback: z.record(z.string(), z.unknown()).optional().meta({
      description: "Fields that replace the step's own when the runbook runs as switchback",
    }),
  })
  .meta({ description: 'A step (see StepSpec for the fields)' });

// ---------- resources ----------

const resourceCommon = {
  description: z.string().optional(),
  concurrency: z
    .int()
    .min(1)
    .optional()
    .meta({ description: 'Steps that may use it at once (default unlimited)' }),
  owner: z.string().optional(),
};

/** Resources a checker compares: one per registered kind, its fields from the checker module. */
const checkerResourceSchemas = checkerModules().map((m) =>
  z.strictObject({ kind: z.literal(m.kind), ...m.resource.shape, ...resourceCommon }),
);

const HttpResource = z.strictObject({
  kind: z.literal('http'),
  url: z.string(),
  headers: z.record(z.string(), z.string()).optional(),
  ca: z.string().optional().meta({
    description:
      "PEM certificate(s) of a private CA to trust for this resource, e.g. '${file:certs/bank-ca.pem}' (no global 'insecure')",
  }),
  ...resourceCommon,
});

/** The remote log of payments in a third site and the DR ledger it is reconciled against (drctl reconcile). */
const RemoteLogResource = z.strictObject({
  kind: z.literal('remote-log'),
  ...remoteLogResourceFields,
  ...resourceCommon,
});

const OtherResource = z
  .strictObject({
    kind: z.enum(['kafka', 'zookeeper', 'mq', 'service', 'channel', 'network']),
    ...resourceCommon,
  })
  .loose();

/** A checker's resource as the runbook holds it: `kind`, the module's fields, the common ones. */
export type CheckerResource = {
  [K in CheckerKind]: { kind: K } & z.infer<(typeof checkers)[K]['resource']> & ResourceCommon;
}[CheckerKind];
type ResourceCommon = z.infer<z.ZodObject<typeof resourceCommon>>;

export type Resource =
  | CheckerResource
  | z.infer<typeof HttpResource>
  | z.infer<typeof RemoteLogResource>
  | z.infer<typeof OtherResource>;

export const ResourceSchema = z.discriminatedUnion('kind', [
  ...checkerResourceSchemas,
  HttpResource,
  RemoteLogResource,
  OtherResource,
] as unknown as [typeof HttpResource, typeof OtherResource]) as unknown as z.ZodType<Resource>;

/** Every field a resource of some kind may have (for "did you mean" hints). */
export const RESOURCE_KEYS = [
  ...new Set([
    'kind',
    ...checkerModules().flatMap((m) => Object.keys(m.resource.shape)),
    ...Object.keys(HttpResource.shape),
    ...Object.keys(remoteLogResourceFields),
    ...Object.keys(resourceCommon),
  ]),
];

export type ResourceKind = Resource['kind'];

// ---------- files ----------

export const RoleSchema = z
  .strictObject({
    description: z.string().optional(),
    concurrency: z.int().min(1).optional().meta({ description: 'Steps of this role that may run at once' }),
    members: z
      .array(z.string())
      .optional()
      .meta({ description: 'People who may approve for this role (with the users file of drctl users)' }),
  })
  .nullable();

const ClockBounds = z.strictObject({
  from: z.string().meta({ description: 'The clock starts when this step starts' }),
  to: z.string().meta({ description: 'The clock stops when this step ends' }),
});

/**
 * A lock shared by every host that may switch this environment (the host lock only covers one
 * bastion). docs/operations.md "One switch per environment".
 */
export const LockSchema = z
  .strictObject({
    redis: z
      .string()
      .refine((u) => /^(rediss?:\/\/|\$\{)/.test(u), {
        error: (iss) =>
          `expected a redis:// or rediss:// URL, got ${JSON.stringify(String(iss.input).replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@'))}`,
      })
      .meta({
        description:
          'redis://[:password@]host:6379[/db] (or rediss://) of a lock server every host reaches; the password from ${env:…}',
      }),
    key: z.string().min(1).optional().meta({
      description: 'The lock key (default drctl:lock:{<environment>}); its fencing counter is <key>:fence',
    }),
    ttl: Duration.optional().meta({
      description:
        'How long the lock outlives a holder that stopped renewing it (default 30s, at least 1s): a dead holder is detected after this',
    }),
  })
  .meta({
    description:
      'A shared switch lock: SET NX with a TTL renewed while the run lives, and a fencing token checked before each step',
  });

// ---------- notifications ----------

/** What a notification channel may ask for (docs/notify.md). */
export const NOTIFY_EVENTS = [
  'run-started',
  'run-finished',
  'run-aborted',
  'step-failed',
  'approval-needed',
  'gate-failed',
  'rto-at-risk',
] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

export const NotifyChannelSchema = z
  .strictObject({
    format: z.enum(['slack', 'teams', 'json']).meta({
      description:
        'slack: an incoming-webhook message; teams: an Adaptive Card message (Teams Workflows webhook); json: the event as a JSON document',
    }),
    url: z.string().min(1).meta({
      description:
        'The webhook URL, usually ${env:…} or ${file:…}: a webhook URL is a credential, never written to the journal',
    }),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: 'Extra request headers; secret values from ${env:…} or ${file:…}' }),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .optional()
      .meta({ description: `Which events to send (default all): ${NOTIFY_EVENTS.join(', ')}` }),
    timeout: Duration.optional().meta({ description: 'Per request (default 5s)' }),
    retries: RetriesSchema.optional().meta({
      description: 'Retries of a failed delivery (default 3, backoff 500ms, factor 2, max 10s)',
    }),
    queue: z
      .int()
      .min(1)
      .max(10000)
      .optional()
      .meta({ description: 'Deliveries waiting at most (default 100); the oldest waiting is given up' }),
  })
  .meta({ description: 'A webhook that receives run events' });

export const NotifySchema = z
  .strictObject({
    bridgeUrl: z.string().optional().meta({
      description:
        'Public URL of `drctl serve`: approval-needed notifications link to <bridgeUrl>/runs/<run>/steps/<step>',
    }),
    grace: Duration.optional().meta({
      description:
        'How long deliveries still queued when the run ends may take to go out (default 5s); the rest are journaled as given up',
    }),
    channels: z
      .record(
        z.string().regex(idPattern, 'channel names use letters, digits, ".", "_" and "-"'),
        NotifyChannelSchema,
      )
      .refine((c) => Object.keys(c).length > 0, { error: 'give at least one channel' }),
  })
  .meta({ description: 'Webhooks told about the run: never blocks or fails it (docs/notify.md)' });

const RunbookLevelFields = {
  description: z.string().optional(),
  roles: z.record(z.string(), RoleSchema).optional(),
  resources: z.record(z.string(), ResourceSchema).optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  templates: z.record(z.string(), z.record(z.string(), z.unknown())).optional().meta({
    description: "Partial steps reused with `template: name`; `${with.x}` reads the step's `with:` values",
  }),
  steps: z.array(StepSourceSchema).optional(),
};

export const RunbookFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    apiVersion: z.literal('drctl/v1'),
    kind: z.literal('Runbook'),
    name: z.string().regex(idPattern),
    environment: z
      .string()
      .optional()
      .meta({ description: 'One switch at a time per environment (the lock)' }),
    direction: Direction.optional().meta({
      description:
        'Default direction of this file (a switchback.yaml can include the same modules as switchover.yaml); --direction overrides it',
    }),
    drill: z.boolean().optional().meta({
      description: 'This file is a rehearsal: every run of it is a drill (each step runs its drill: variant)',
    }),
    objectives: z
      .strictObject({
        rto: z.strictObject({ technical: Duration.optional(), compliance: Duration.optional() }).optional(),
        rpo: z.union([z.literal(0), Duration]).optional(),
      })
      .optional(),
    rto: z.strictObject({ technical: ClockBounds.optional(), compliance: ClockBounds.optional() }).optional(),
    directions: z
      .strictObject({
        switchover: z.record(z.string(), z.unknown()).optional(),
        switchback: z.record(z.string(), z.unknown()).optional(),
      })
      .optional()
      .meta({ description: 'Values read as ${dir.name}, one set per direction (e.g. target: dr | live)' }),
    defaults: z
      .strictObject({
        timeout: Duration.optional(),
        retries: RetriesSchema.optional(),
        onFailure: z.enum(['abort', 'continue', 'rollback']).optional(),
      })
      .optional(),
    timeout: Duration.optional().meta({ description: 'Timeout of the whole run' }),
    concurrency: z.int().min(1).optional().meta({ description: 'Steps running at once in the whole run' }),
    lock: LockSchema.optional(),
    notify: NotifySchema.optional(),
    dataRiskRole: z.string().optional().meta({
      description:
        'The role that accepts data risk: in an unplanned switch it approves going on with funds in transit (RPO not proven)',
    }),
    include: z
      .array(z.string())
      .optional()
      .meta({ description: 'Globs of module files, relative to this file' }),
    ...RunbookLevelFields,
  })
  .meta({ title: 'drctl runbook', description: 'A DR switchover runbook (drctl/v1)' });
export type RunbookFile = z.infer<typeof RunbookFileSchema>;

/** An included module file, owned by a module PIC. */
export const ModuleFileSchema = z.strictObject({
  $schema: z.string().optional(),
  apiVersion: z.literal('drctl/v1').optional(),
  kind: z.literal('Module'),
  name: z.string().regex(idPattern),
  pic: z.string().optional().meta({ description: 'The module PIC who owns this file' }),
  phase: z.string().optional().meta({ description: "Default phase of the module's steps" }),
  ...RunbookLevelFields,
});
export type ModuleFile = z.infer<typeof ModuleFileSchema>;

// ---------- resolved model ----------

export type Action =
  | {
      kind: 'run';
      argv: string[] | undefined;
      command: string | undefined;
      shell: boolean;
      cwd?: string;
      env?: Record<string, string>;
    }
  | { kind: 'sql'; sql: NonNullable<StepSpec['sql']> }
  | { kind: 'redis'; redis: NonNullable<StepSpec['redis']> }
  | { kind: 'http'; http: NonNullable<StepSpec['http']> }
  | { kind: 'wait'; until: Exclude<Action, { kind: 'wait' | 'manual' | 'check' }>; intervalMs: number }
  | {
      kind: 'manual';
      instructions: string;
      /** Roles whose members may decide (the owner role is always one). */
      approvers: string[];
      /** Distinct people who must approve (default 1). */
      minApprovals?: number | undefined;
    }
  | {
      kind: 'check';
      check: { kind: CheckerKind; resource: string; options: Record<string, unknown> };
    };

export interface RetryPolicy {
  count: number;
  backoffMs: number;
  factor: number;
  maxMs: number;
}

/** A fully resolved step: templates, foreach, direction and `when` applied; needs are ids. */
export interface Step {
  id: string;
  title: string;
  description?: string | undefined;
  owner: string;
  phase?: string | undefined;
  module?: string | undefined;
  needs: string[];
  action: Action;
  timeoutMs?: number | undefined;
  retry: RetryPolicy;
  estimateMs?: number | undefined;
  onFailure: 'abort' | 'continue' | 'rollback';
  rollback?: { action: Action; timeoutMs?: number | undefined } | undefined;
  /** In drill mode: skip the step, run it as is, or run another action. */
  drill:
    { mode: 'skip' } | { mode: 'same' } | { mode: 'action'; action: Action; timeoutMs?: number | undefined };
  /** In an unplanned switch (`--unplanned`): skip, run as is (default), or run another action. */
  unplanned?:
    | { mode: 'skip' }
    | { mode: 'run' }
    | { mode: 'action'; action: Action; timeoutMs?: number | undefined }
    | undefined;
  /**
   * Set by `drctl switch --unplanned` on MySQL check gates: a replica-only gate, then the
   * reconcile of these remote-log resources, then an approval by the data-risk role.
   */
  unplannedGate?: { remoteLogs: string[]; approver: string } | undefined;
  /** Resources the step touches (its action's resource and `resource:`), for concurrency limits. */
  resources: string[];
  /** Where it was written, for messages. */
  source: { file: string; line?: number | undefined };
}

export interface Runbook {
  name: string;
  file: string;
  /** sha-256 of every file read, for the journal. */
  sha256: string;
  description?: string | undefined;
  environment: string;
  direction: Direction;
  drill: boolean;
  /** `drctl switch --unplanned`: Main may be gone (src/reconcile/unplanned.ts). */
  unplanned?: boolean | undefined;
  /** The role that accepts data risk (approves going on with funds in transit). */
  dataRiskRole?: string | undefined;
  objectives: {
    technicalMs?: number | undefined;
    complianceMs?: number | undefined;
    rpo?: number | undefined;
  };
  rto: {
    technical?: { from: string; to: string } | undefined;
    compliance?: { from: string; to: string } | undefined;
  };
  roles: Record<
    string,
    { concurrency?: number | undefined; description?: string | undefined; members?: string[] | undefined }
  >;
  resources: Record<string, Resource>;
  concurrency?: number | undefined;
  timeoutMs?: number | undefined;
  /** The shared lock (`lock: { redis }`), resolved; undefined: the host lock only. */
  lock?: { url: string; key: string; ttlMs: number } | undefined;
  /** Webhooks (`notify:`), resolved; undefined: none. */
  notify?: NotifyConfig | undefined;
  steps: Step[];
  /** Steps left out by `when` (for the plan's information). */
  excluded: { id: string; reason: string }[];
  modules: { name: string; file: string; pic?: string | undefined }[];
}

/** One `notify.channels` entry, resolved (secrets in url and headers are registered). */
export interface NotifyChannel {
  name: string;
  format: 'slack' | 'teams' | 'json';
  url: string;
  headers: Record<string, string>;
  events: NotifyEventKind[];
  timeoutMs: number;
  retry: RetryPolicy;
  queue: number;
}

export interface NotifyConfig {
  /** Without a trailing slash. */
  bridgeUrl?: string | undefined;
  graceMs: number;
  channels: NotifyChannel[];
}
