#!/usr/bin/env bash
# require-drill.sh: the guard step of drill.yaml. It only runs when drill.yaml was started
# WITHOUT --drill (its step has `when: { drill: false }`), and fails, so the rehearsal runbook
# can never perform the real switch by mistake.
echo "drill.yaml is the rehearsal runbook: start it with --drill" >&2
echo "  drctl switch runbooks/id-bank/drill.yaml --drill" >&2
exit 1
