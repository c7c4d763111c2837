#!/usr/bin/env bash
# gateway.sh drain|open --dc main|dr [--dry-run]
# drain: show the maintenance page and stop new requests at the edge of one datacenter.
# open:  route customers to that datacenter again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ACTION="${1:-}"
shift || true
parse_args "$@"
case "$ACTION" in
  drain)
    step "drain the $DC gateways"
    would kubectl --context "idbank-$DC" -n edge patch configmap nginx-edge --patch '{"data":{"maintenance":"on"}}'
    would curl -fsS -X POST "https://gslb.ops.idbank.internal/api/pools/customer-$DC/disable"
    would "wait until active connections on edge-$DC are 0 (max 5m)"
    ;;
  open)
    step "open the $DC gateways"
    would curl -fsS -X POST "https://gslb.ops.idbank.internal/api/pools/customer-$DC/enable"
    would kubectl --context "idbank-$DC" -n edge patch configmap nginx-edge --patch '{"data":{"maintenance":"off"}}'
    ;;
  *) die "usage: gateway.sh drain|open --dc main|dr [--dry-run]" ;;
esac
