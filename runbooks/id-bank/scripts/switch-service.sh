#!/usr/bin/env bash
# switch-service.sh --module NAME --service NAME [--replicas=N] --dc main|dr [--dry-run]
# Brings one service up in --dc (its connections already follow bcf.resource.target.*), waits
# until it is ready, then registers it with the --dc gateway.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
parse_args "$@"
MODULE="$(value_of module)"
SERVICE="$(value_of service)"
REPLICAS="$(value_of replicas)"
[ -n "$SERVICE" ] || die "--service is required"
step "switch $MODULE/$SERVICE to $DC"
would kubectl --context "idbank-$DC" -n "$MODULE" scale "deploy/$SERVICE" --replicas="${REPLICAS:-2}"
would kubectl --context "idbank-$DC" -n "$MODULE" rollout status "deploy/$SERVICE" --timeout=5m
would "register $SERVICE in the $DC gateway upstreams"
