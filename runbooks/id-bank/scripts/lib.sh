# Shared by the example scripts: argument parsing and the "what I would do" output.
# These scripts are EXAMPLES: they only print the commands the bank's real scripts run, so the
# runbook can be rehearsed end to end on any machine. Replace the `would` lines with the real
# commands (keeping --dc and --dry-run) when you adopt them.

DC=""
DRY_RUN=0
ARGS=()

die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

# parse_args "$@": takes --dc main|dr and --dry-run, leaves the rest in ARGS.
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --dc) [ $# -ge 2 ] || die "--dc needs a value (main or dr)"; DC="$2"; shift 2 ;;
      --dc=*) DC="${1#--dc=}"; shift ;;
      --dry-run) DRY_RUN=1; shift ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
  case "$DC" in
    main | dr) ;;
    "") die "--dc is required (main or dr)" ;;
    *) die "--dc must be main or dr, got \"$DC\"" ;;
  esac
}

# value_of NAME: the value of --NAME v or --NAME=v in ARGS (empty when absent).
value_of() {
  local name="--$1" i
  for ((i = 0; i < ${#ARGS[@]}; i++)); do
    case "${ARGS[$i]}" in
      "$name") echo "${ARGS[$((i + 1))]:-}"; return ;;
      "$name"=*) echo "${ARGS[$i]#"$name"=}"; return ;;
    esac
  done
}

# would CMD...: print what the real script runs (prefixed in a dry run).
would() {
  if [ "$DRY_RUN" = 1 ]; then echo "[dry run] would: $*"; else echo "would: $*"; fi
}

step() {
  echo "== $(basename "$0" .sh): $*"
}
