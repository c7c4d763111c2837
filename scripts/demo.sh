#!/usr/bin/env bash
# The README's main job: set up what is missing, then run the demo switchover (see scripts/demo/run.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " == *" --no-es "* || " $* " == *" --down "* ]]; then export SKIP_SEARCH=1; fi
SEARCH_FLAVORS=opensearch bash scripts/setup.sh
exec node --import tsx scripts/demo/run.ts "$@"
