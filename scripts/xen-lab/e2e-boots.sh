#!/bin/bash
# e2e-boots.sh BUILD: the real-Xen bed (e2e.sh) with resumption after a frozen outer machine.
# The nested bed (Xen under TCG) sometimes freezes for good: the vCPU runs, nothing is printed, not
# even dom0's heartbeat (seen at random points, with and without host load). e2e.sh reports that as
# exit 2 only when no stage had failed before it; then the bed boots again and runs only the stages
# still owed a PASS (e2e.sh --remaining, with the stages each needs from the same boot), up to
# E2E_BOOTS boots in all (default 3), and, with E2E_BUDGET (seconds, CI's remaining time), only
# while at least 10 minutes of it are left; each boot's outer QEMU gets at most what is left.
# A FAIL is never retried: exit 1 at once.
# Exit: 0 every selected stage passed (in one of the boots); 1 a stage failed; 2 the bed did not
# come up, or froze, on every boot.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: $0 /abs/build/dir}
BOOTS=${E2E_BOOTS:-3}
BUDGET=${E2E_BUDGET:-}
left_s() { echo $(( BUDGET - SECONDS )); }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
boot=1 rc=0 left=${TESTS:-}
while :; do
  t=${TIMEOUT:-4200}
  [ -n "$BUDGET" ] && [ "$(left_s)" -lt "$t" ] && t=$(left_s)
  if [ -n "$left" ]; then TESTS="$left" TIMEOUT=$t bash "$HERE/e2e.sh" "$BUILD" 2>&1 | tee "$log"
  else TIMEOUT=$t bash "$HERE/e2e.sh" "$BUILD" 2>&1 | tee "$log"; fi
  rc=${PIPESTATUS[0]}
  [ $rc = 2 ] && [ $boot -lt $BOOTS ] || break
  if [ -n "$BUDGET" ] && [ "$(left_s)" -lt 600 ]; then
    echo "e2e-boots: $(left_s)s of E2E_BUDGET left: no time for another boot"; break
  fi
  run=$(sed -n 's/^e2e: run dir \([^;]*\);.*/\1/p' "$log" | tail -n1)
  [ -n "$run" ] && left=$(bash "$HERE/e2e.sh" --remaining "$run")
  if [ -n "$run" ] && [ -z "$left" ]; then   # it froze after the last verdict
    echo "e2e-boots: every selected stage had passed before the bed froze"; rc=0; break
  fi
  boot=$((boot + 1))
  echo "e2e-boots: the bed did not come up or froze; boot $boot of $BOOTS with: ${left:-every stage}"
done
case $rc in
0) [ $boot -gt 1 ] && echo "e2e-boots: every selected stage passed, over $boot boots";;
2) echo "e2e-boots: FAILED: the bed did not come up or froze on each of $boot boots";;
esac
exit $rc
