#!/usr/bin/env bash
# scheduler.sh pause|resume --dc main|dr [--dry-run]
# Pauses or resumes every batch job of one datacenter's scheduler.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ACTION="${1:-}"
shift || true
parse_args "$@"
case "$ACTION" in
  pause) step "pause batch jobs in $DC"; would "xxl-job admin: stop every job group on scheduler.$DC (running jobs finish)" ;;
  resume) step "resume batch jobs in $DC"; would "xxl-job admin: start every job group on scheduler.$DC" ;;
  *) die "usage: scheduler.sh pause|resume --dc main|dr" ;;
esac
