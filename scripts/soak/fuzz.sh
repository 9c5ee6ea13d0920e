#!/usr/bin/env bash
# Runs cargo-fuzz targets one at a time, each for a bounded time, at low priority, and prints the
# figures libFuzzer reports (executions, time, coverage) in one line per target.
#
#   scripts/soak/fuzz.sh                  # every target, 600 s each
#   scripts/soak/fuzz.sh endpoint 60      # one target, 60 s
#
# Needs `cargo install cargo-fuzz`. The toolchain is stable, so RUSTC_BOOTSTRAP=1 lets cargo-fuzz
# use the sanitizer flags. Corpora grow in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>);
# crashes land in fuzz/artifacts/<target>. Logs go to fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${2:-600}"
if [[ $# -ge 1 && "$1" != "all" ]]; then
  targets=("$1")
else
  mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi

mkdir -p fuzz/logs
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  cp -n "fuzz/seeds/$target/"* "fuzz/corpus/$target/" 2>/dev/null || true
  log="fuzz/logs/$target.log"
  status=0
  RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  took=$(grep -aEo 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -Eo 'in [0-9]+' | grep -Eo '[0-9]+' || echo "?")
  cov=$(grep -aEo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo "?")
  crashes=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  echo "fuzz $target: exit $status, ${runs} executions in ${took} s, coverage ${cov} edges, corpus ${corpus} inputs, ${crashes} crash files"
done
