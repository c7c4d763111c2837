/**
 * The starter runbook tree that `drctl init <dir>` writes: a runbook header per direction, one
 * module file owned by a module PIC, its inventory, and a script the run steps call. It follows
 * runbooks/demo and runbooks/id-bank (docs/runbook.md): the steps are written once and read
 * direction-aware values, so switchback.yaml differs from switchover.yaml only in `direction:`.
 */
export interface StarterFile {
  /** Path relative to the target directory. */
  path: string;
  text: string;
  /** true for the script a run step calls. */
  executable?: boolean;
}

function header(direction: 'switchover' | 'switchback'): string {
  const other = direction === 'switchover' ? 'switchback.yaml' : 'switchover.yaml';
  return `# yaml-language-server: $schema=./runbook.schema.json
# The ${direction} of your bank, a starting point to grow from (drctl init). The steps live in
# modules/*.yaml, one file per module PIC, and read \${dir.…}: ${other} is this file with the
# other direction, so no step is written twice.
#
#   drctl validate ${direction}.yaml     every problem, with its file:line:col
#   drctl plan     ${direction}.yaml     waves, roles, critical path, RTO forecast
#   drctl switch   ${direction}.yaml --dry-run
#
# runbook.schema.json (\`drctl schema\` prints it) lets an editor complete and check these files.
apiVersion: drctl/v1
kind: Runbook
name: my-bank-${direction}
description: Move my bank ${direction === 'switchover' ? 'from Main to DR' : 'back from DR to Main'} with RPO = 0 proven before the database is promoted
environment: production
direction: ${direction}
objectives: { rto: { technical: 60m, compliance: 2h }, rpo: 0 }
rto:
  technical: { from: stop-traffic, to: open-traffic }
  compliance: { from: declare, to: business-verified }
roles:
  PM: { description: 'Announces the switch and keeps the bridge' }
  SRE: { concurrency: 4, description: 'Traffic, services and config' }
  DBA: { concurrency: 2, description: 'Freeze, RPO gate, promotion' }
  QA: { description: 'Verifies the business on the new side' }
  LOCAL: { description: 'Local business staff confirm a real transaction' }
directions:
  switchover: { from: main, to: dr, target: dr }
  switchback: { from: dr, to: main, target: live }
defaults: { timeout: 10m }
include: [modules/*.yaml]
`;
}

const MODULE = `# yaml-language-server: $schema=../runbook.schema.json
# Core banking: the switch plan of one module, owned by its PIC. Its services and databases are
# listed in ../inventory.yaml: adding a service is one line there.
kind: Module
name: core-banking
pic: Your Name (Core banking PIC)
phase: switch-services
resources:
  # primary is the side we leave, replica the side we go to. The checker's account needs only
  # SELECT, SHOW VIEW, REPLICATION CLIENT (MariaDB: BINLOG MONITOR, SLAVE MONITOR).
  core-db:
    kind: mysql
    primary: 'mysql://drctl_check:\${env:CORE_DB_PASSWORD}@core-db.\${dir.from}.bank.internal:3306'
    replica: 'mysql://drctl_check:\${env:CORE_DB_PASSWORD}@core-db.\${dir.to}.bank.internal:3306'
  # The DBA's account for the freeze and the promotion.
  core-db-admin:
    kind: mysql
    primary: 'mysql://dba:\${env:CORE_DBA_PASSWORD}@core-db.\${dir.from}.bank.internal:3306'
    replica: 'mysql://dba:\${env:CORE_DBA_PASSWORD}@core-db.\${dir.to}.bank.internal:3306'
    concurrency: 1
  # The applications read their targets here (bcf.resource.target.mysql = dr | live).
  app-config: { kind: redis, url: 'redis://:\${env:CONFIG_REDIS_PASSWORD}@config-redis.bank.internal:6379' }
vars:
  inventory: '\${file:../inventory.yaml}'
steps:
  - id: declare
    title: Announce the DR \${direction} on the bridge
    owner: PM
    phase: prepare
    run: [echo, 'DR \${direction} declared: moving from \${dir.from} to \${dir.to}']
    estimate: 1m

  - id: stop-traffic
    title: Stop customer traffic
    owner: SRE
    phase: stop-traffic
    needs: [declare]
    redis: { resource: app-config, set: { bcf.traffic: closed } }
    rollback: { redis: { resource: app-config, set: { bcf.traffic: open } } }
    estimate: 2m

  - id: freeze-core-db
    title: Freeze the \${dir.from} primary (read_only)
    owner: DBA
    phase: freeze
    needs: [stop-traffic]
    sql: { resource: core-db-admin, on: primary, statements: 'SET GLOBAL read_only = ON' }
    rollback: { sql: { resource: core-db-admin, on: primary, statements: 'SET GLOBAL read_only = OFF' } }
    estimate: 1m

  - id: gate-core-db
    title: Prove RPO = 0 for core banking (GTID, schema, every row)
    owner: DBA
    phase: data-gates
    needs: [freeze-core-db]
    check: { kind: mysql, resource: core-db, gtid: true, schema: true, rows: full, waitMs: 60000 }
    timeout: 30m
    estimate: 10m

  - id: promote-core-db
    title: Promote the \${dir.to} database to primary
    owner: DBA
    phase: switch-databases
    needs: [gate-core-db]
    sql:
      resource: core-db-admin
      on: replica
      statements: ['STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only = OFF']
    estimate: 2m

  - id: switch-\${svc.name}
    title: Start \${svc.name} on \${dir.to} (\${svc.replicas} replicas)
    foreach: \${vars.inventory.services}
    as: svc
    owner: SRE
    needs: [promote-core-db]
    run: [./scripts/switch-service.sh, '\${svc.name}', '--to=\${dir.to}', '--replicas=\${svc.replicas}']
    estimate: 3m

  - id: flip-config
    title: Point the applications at \${dir.to}
    owner: SRE
    needs: [switch-*]
    redis:
      {
        resource: app-config,
        set: { bcf.resource.target.mysql: '\${dir.target}' },
        expect: { bcf.resource.target.mysql: '\${dir.target}' },
      }
    estimate: 1m

  - id: qa-verify
    title: QA verifies the core scenarios on \${dir.to}
    owner: QA
    phase: verify
    needs: [flip-config]
    manual: Run the verification cases against \${dir.to} and approve when all pass
    estimate: 20m

  - id: open-traffic
    title: Reopen customer traffic on \${dir.to}
    owner: SRE
    phase: open-traffic
    needs: [qa-verify]
    redis: { resource: app-config, set: { bcf.traffic: open } }
    estimate: 2m

  - id: business-verified
    title: Local business confirms a transaction lands in \${dir.to}
    owner: LOCAL
    phase: open-traffic
    needs: [open-traffic]
    manual: Make one real transaction and approve when it shows in \${dir.to}
    estimate: 10m
`;

const INVENTORY = `# The inventory of the core-banking module, kept up to date by its PIC.
# modules/core-banking.yaml makes one switch step per service from this list.
services:
  - { name: core-api, replicas: 4 }
  - { name: teller, replicas: 2 }
  - { name: batch-scheduler, replicas: 1 }
`;

const SCRIPT = `#!/bin/sh
# Called by the switch-<service> steps: start <service> on the target datacenter.
# Replace the echo with your orchestrator's command (kubectl scale, an Ansible playbook…).
# drctl runs it in the runbook's directory, without a shell, with a small environment
# (docs/runbook.md "run"); a non-zero exit fails the step.
set -eu
service="$1"; shift
echo "switch $service $*"
`;

/** The starter tree; `schema` is the runbook JSON Schema text, written beside the runbooks. */
export function starterFiles(schema: string): StarterFile[] {
  return [
    { path: 'runbook.schema.json', text: schema },
    { path: 'switchover.yaml', text: header('switchover') },
    { path: 'switchback.yaml', text: header('switchback') },
    { path: 'modules/core-banking.yaml', text: MODULE },
    { path: 'inventory.yaml', text: INVENTORY },
    { path: 'scripts/switch-service.sh', text: SCRIPT, executable: true },
  ];
}
