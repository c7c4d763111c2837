#!/usr/bin/env bash
# backup-mysql.sh --module NAME --dc main|dr [--dry-run]
# Takes a consistent backup of every cluster of a module before the switch (the DBA's
# safety net if a promotion must be undone).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
parse_args "$@"
MODULE="$(value_of module)"
[ -n "$MODULE" ] || die "--module is required"
step "back up the $MODULE databases in $DC"
would mariabackup --backup --target-dir="/backup/$(date -u +%Y%m%d)/$MODULE" --host="<each $MODULE cluster>.$DC.db.idbank.internal"
would "upload to s3://dba-backups-$DC/$MODULE/ and record the GTID position"
