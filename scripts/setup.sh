#!/usr/bin/env bash
# Installs what drctl's tests, benchmarks and demo need on a fresh Debian machine:
# Debian packages (when run as root and missing), npm dependencies, the build, and the
# OpenSearch/Elasticsearch test distributions from Maven Central. Idempotent.
#   scripts/setup.sh            everything
#   SKIP_SEARCH=1 scripts/setup.sh   without the search servers (the demo does not need them)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mariadb-server mariadb-client redis-server percona-toolkit rclone
  ceph-mon ceph-mgr ceph-osd radosgw ceph-common chromium unzip maven time openjdk-17-jre-headless)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

if [[ ${SKIP_SEARCH:-0} != 1 ]]; then
  # SEARCH_FLAVORS: which distributions (default all the tests use); the demo needs opensearch only.
  # shellcheck disable=SC2086
  bash scripts/fetch-search-servers.sh ${SEARCH_FLAVORS:-}
fi
echo "setup: ok"
