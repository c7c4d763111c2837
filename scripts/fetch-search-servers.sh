#!/usr/bin/env bash
# Downloads and unpacks the OpenSearch and Elasticsearch integ-test-zip distributions from Maven
# Central into a cache dir, for the es checker's tests, benchmark and demo. Idempotent: an
# unpacked version is not fetched again. Needs mvn and unzip; the servers need a JDK 17+.
#
#   scripts/fetch-search-servers.sh            # all flavors the tests use: opensearch elasticsearch elasticsearch7
#   scripts/fetch-search-servers.sh opensearch # one flavor
#
# Versions that exist on Maven Central as integ-test-zip (checked 2026-11-22):
#   opensearch:    2.0.0 … 2.19.6, 3.6.0 (no 1.x integ-test-zip is published there)
#   elasticsearch: 7.17.28, 7.17.29, 8.0.0 … 8.19.21
set -euo pipefail

CACHE="${DRCTL_CACHE:-$HOME/.cache/drctl}/search"
OPENSEARCH_VERSION="${DRCTL_OPENSEARCH_VERSION:-2.19.6}"
ELASTICSEARCH_VERSION="${DRCTL_ELASTICSEARCH_VERSION:-8.19.21}"
ELASTICSEARCH7_VERSION="${DRCTL_ELASTICSEARCH7_VERSION:-7.17.29}"

fetch() { # group artifact version
  local group="$1" artifact="$2" version="$3"
  local dest="$CACHE/$artifact-$version"
  if [[ -x "$dest/bin/$artifact" ]]; then
    echo "$artifact $version: already in $dest"
    return
  fi
  mkdir -p "$CACHE/zips"
  local zip="$CACHE/zips/$artifact-$version.zip"
  if [[ ! -s "$zip" ]]; then
    if ! command -v mvn >/dev/null; then
      echo "mvn is needed to fetch $artifact $version from Maven Central: apt-get install -y maven" >&2
      exit 2
    fi
    mvn -q dependency:copy "-Dartifact=$group:$artifact:$version:zip" "-DoutputDirectory=$CACHE/zips"
  fi
  local tmp
  tmp="$(mktemp -d "$CACHE/unpack.XXXXXX")"
  unzip -q "$zip" -d "$tmp"
  rm -rf "$dest"
  mv "$tmp/$artifact-$version" "$dest"
  rmdir "$tmp"
  chmod -R a+rX "$dest"
  echo "$artifact $version: unpacked into $dest"
}

flavors=("$@")
[[ ${#flavors[@]} -eq 0 ]] && flavors=(opensearch elasticsearch elasticsearch7)
for f in "${flavors[@]}"; do
  case "$f" in
    opensearch) fetch org.opensearch.distribution.integ-test-zip opensearch "$OPENSEARCH_VERSION" ;;
    elasticsearch) fetch org.elasticsearch.distribution.integ-test-zip elasticsearch "$ELASTICSEARCH_VERSION" ;;
    elasticsearch7) fetch org.elasticsearch.distribution.integ-test-zip elasticsearch "$ELASTICSEARCH7_VERSION" ;;
    *) echo "unknown flavor $f (opensearch | elasticsearch | elasticsearch7)" >&2; exit 2 ;;
  esac
done
