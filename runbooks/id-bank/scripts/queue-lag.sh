#!/usr/bin/env bash
# queue-lag.sh --kind kafka|rocketmq --dc main|dr [--max-lag N]
# Exit 0 when the consumer lag is at most N (default 0), 1 otherwise: a `wait: until: run:`
# condition. The example reports 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
parse_args "$@"
KIND="$(value_of kind)"
MAX="$(value_of max-lag)"
MAX="${MAX:-0}"
case "$KIND" in
  kafka) would "kafka-consumer-groups --bootstrap-server kafka.$DC.mw.idbank.internal:9092 --describe --all-groups" ;;
  rocketmq) would "mqadmin consumerProgress -n rocketmq-ns.$DC.mw.idbank.internal:9876" ;;
  *) die "--kind must be kafka or rocketmq" ;;
esac
LAG=0
echo "lag=$LAG max=$MAX"
[ "$LAG" -le "$MAX" ]
