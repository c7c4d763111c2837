#!/usr/bin/env bash
# promote-mysql.sh --cluster NAME --dc main|dr [--dry-run]
# Makes the cluster's copy in --dc the primary and the other site its replica. drctl runs it only
# after the cluster's data gates (GTID, schema, every row) have passed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
parse_args "$@"
CLUSTER="$(value_of cluster)"
[ -n "$CLUSTER" ] || die "--cluster is required"
OTHER=main
[ "$DC" = main ] && OTHER=dr
step "promote $CLUSTER in $DC"
would "mysql -h $CLUSTER.$OTHER.db.idbank.internal -e 'SET GLOBAL read_only = ON; SET GLOBAL super_read_only = ON'"
would "mysql -h $CLUSTER.$DC.db.idbank.internal -e 'STOP REPLICA; RESET REPLICA ALL; SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF'"
would "mysql -h $CLUSTER.$OTHER.db.idbank.internal -e \"CHANGE MASTER TO MASTER_HOST='$CLUSTER.$DC.db.idbank.internal', MASTER_USE_GTID=slave_pos; START REPLICA\""
would "move the VIP $CLUSTER-rw.db.idbank.internal to $CLUSTER.$DC"
