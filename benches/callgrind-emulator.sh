#!/usr/bin/env bash
# Instructions the standalone emulator spends per bulk flow (figure 4 of benches/README.md),
# counted by callgrind: stable on a loaded machine, unlike wall time. The emulator process runs under
# valgrind; the bulk client (cargo bench --bench e2e -- bulk) runs natively against it.
#
#   benches/callgrind-emulator.sh [FLOWS] [CONCURRENCY]     (default 1000 64)
#
# Prints Ir per flow (the counters are zeroed once the emulator listens, so start-up is not
# counted; the bulk run adds one warm-up flow) and leaves the profile for callgrind_annotate.
set -euo pipefail

cd "$(dirname "$0")/.."
FLOWS=${1:-1000}
CONCURRENCY=${2:-64}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
WORK=$(mktemp -d)
PID=
cleanup() {
    if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

cargo build -q --profile bench --bin yc-iam
cargo bench -q --no-run --bench e2e
E2E=$(ls -t "$TARGET"/release/deps/e2e-* | grep -v '\.d$' | head -n1)

valgrind --tool=callgrind --callgrind-out-file="$WORK/emulator.callgrind" \
    "$TARGET/release/yc-iam" emulator --listen 127.0.0.1:0 >"$WORK/out" 2>"$WORK/err" &
PID=$!
ADDR=
for _ in $(seq 300); do
    ADDR=$(grep -oE '127\.0\.0\.1:[0-9]+' "$WORK/out" | head -n1 || true)
    [[ -n $ADDR ]] && break
    sleep 0.1
done
[[ -n $ADDR ]] || { echo "the emulator did not start:"; cat "$WORK/err"; exit 1; }
callgrind_control -z "$PID" >/dev/null
"$E2E" bulk --endpoint "http://$ADDR" --flows "$FLOWS" --concurrency "$CONCURRENCY" | head -n1
kill -TERM "$PID"
wait "$PID" || true
PID=
total=$(callgrind_annotate "$WORK/emulator.callgrind" 2>/dev/null | grep -m1 'PROGRAM TOTALS' | grep -oE '^[0-9,]+' | tr -d ,)
flows=$((FLOWS + 1))
echo "emulator: $total instructions for $flows flows = $((total / flows)) per flow"
echo "profile: $WORK/emulator.callgrind"
