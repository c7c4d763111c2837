#!/usr/bin/env bash
# switch-middleware.sh --kind KIND --name NAME --dc main|dr [--dry-run]
# Makes the --dc copy of one middleware the active one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
parse_args "$@"
KIND="$(value_of kind)"
NAME="$(value_of name)"
[ -n "$KIND" ] || die "--kind is required"
step "switch $NAME ($KIND) to $DC"
case "$KIND" in
  redis) would "redis-cli -h redis-cache.$DC.mw.idbank.internal REPLICAOF NO ONE; point the other site at it" ;;
  kafka) would "stop MirrorMaker 2 into $DC, translate consumer offsets (RemoteClusterUtils), start MirrorMaker 2 out of $DC" ;;
  mq) would "mqadmin updateBrokerConfig -b rocketmq.$DC:10911 -k brokerRole -v SYNC_MASTER" ;;
  zookeeper) would "zkCli.sh -server zk.$DC.mw.idbank.internal:2181 reconfig (the $DC ensemble becomes the voting one)" ;;
  ceph) would "radosgw-admin zone modify --rgw-zone=$DC --master --default; radosgw-admin period update --commit" ;;
  elasticsearch) would "pause the CCR followers in $DC, promote them: POST /<index>/_ccr/unfollow" ;;
  config-center) would "make the $DC config-center replicas primary (apollo-configservice-$DC)" ;;
  nacos) would "point the service registry clients at nacos.$DC.mw.idbank.internal" ;;
  scheduler) would "enable the xxl-job executors in $DC, disable the others" ;;
  nginx) would "reload nginx-edge in $DC with the $DC upstreams" ;;
  gateway) would "switch the API gateway routes to the $DC upstream clusters" ;;
  dns) would "update idbank.internal records (TTL 30s) to the $DC addresses" ;;
  *) die "unknown --kind $KIND" ;;
esac
