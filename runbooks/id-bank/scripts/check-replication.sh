#!/usr/bin/env bash
# check-replication.sh --dc main|dr [--mysql] [--dry-run]
# Replication INTO the given datacenter is healthy: middleware by default, MySQL with --mysql
# (used on the switchback, when Main has been a replica of DR).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
parse_args "$@"
if [[ " ${ARGS[*]:-} " == *" --mysql "* ]]; then
  step "MySQL replication into $DC"
  would "for each cluster: SHOW REPLICA STATUS on <cluster>.$DC (IO/SQL running, Seconds_Behind_Source = 0)"
else
  step "middleware replication into $DC"
  would "redis-cli -h redis-cache.$DC.mw.idbank.internal INFO replication (master_link_status:up)"
  would "kafka-consumer-groups --bootstrap-server kafka.$DC.mw.idbank.internal:9092 --describe --group mm2-* (lag < 1000)"
  would "radosgw-admin sync status --rgw-zone=$DC (data is caught up)"
  would "curl -fsS https://es-ops.$DC.mw.idbank.internal:9200/_ccr/stats"
fi
