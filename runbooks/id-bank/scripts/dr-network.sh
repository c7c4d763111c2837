#!/usr/bin/env bash
# dr-network.sh verify --dc main|dr [--dry-run]
# Proves the target datacenter's network from outside: links, firewall rules, load balancers,
# partner IP allow-lists and certificates.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "${1:-}" = verify ] || die "usage: dr-network.sh verify --dc main|dr"
shift
parse_args "$@"
step "verify the $DC network"
would ansible-playbook -i "inventories/$DC" network/verify-links.yml
would ansible-playbook -i "inventories/$DC" network/verify-firewall.yml --tags partners
would "probe https://edge.$DC.idbank.internal/healthz from the external probe hosts"
would "check certificate expiry of *.${DC}.idbank.internal (> 30 days)"
