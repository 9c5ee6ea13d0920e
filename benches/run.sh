#!/usr/bin/env bash
# Prints every performance figure of yc-iam (see benches/README.md), each with the command that reproduces it,
# as ratios taken in this one run where there is something to compare with.
#
#   benches/run.sh [SECTION...]      sections: machine micro flow instructions emulator wait cli
#                                          bulk fleet audit build
#                                          (default: all; `build` does two clean release builds)
#
# Environment: RUNS (process runs per median, default 21), YC_IAM_PYTHON (a python with the
# `yandexcloud` package; default: a venv made under target/bench-venv from
# scripts/python-sdk/requirements.txt), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${RUNS:-21}
SECTIONS=${*:-machine micro flow instructions emulator wait cli bulk fleet audit build}
WORK=$(mktemp -d)
EMU_PID=
cleanup() {
    if [[ -n $EMU_PID ]]; then kill "$EMU_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

want() { [[ " $SECTIONS " == *" $1 "* ]]; }
say() { printf '%s\n' "$*"; }
# figure NAME VALUE COMMAND
figure() { printf '%-58s %s\n    $ %s\n' "$1" "$2" "$3"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Mean time (ns) of a criterion benchmark from its saved estimates.
estimate() {
    python3 - "$TARGET/criterion/$1/new/estimates.json" <<'EOF'
import json, sys
print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])
EOF
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
fmt_ns() {
    python3 -c "
v = $1
print(f'{v:.0f} ns' if v < 1e4 else f'{v / 1e3:.1f} µs' if v < 1e7 else f'{v / 1e6:.1f} ms')"
}

python_sdk() {
    if [[ -n ${YC_IAM_PYTHON:-} ]]; then
        PY=$YC_IAM_PYTHON
    else
        PY=$TARGET/bench-venv/bin/python
        if [[ ! -x $PY ]]; then
            python3 -m venv "$TARGET/bench-venv"
            "$PY" -m pip install -q -r scripts/python-sdk/requirements.txt
        fi
    fi
}

start_emulator() {
    rm -f "$WORK/emulator.out"
    # A cloud whose quotas were raised: the CLI runs and the bulk rounds make thousands of
    # accounts and keys in it.
    "$BIN" emulator --listen 127.0.0.1:0 --quota service-accounts=10000000,api-keys=10000000 \
        >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
    EMU_PID=$!
    for _ in $(seq 100); do
        ADDR=$(head -n1 "$WORK/emulator.out" 2>/dev/null | grep -oE '127\.0\.0\.1:[0-9]+' || true)
        [[ -n $ADDR ]] && return
        sleep 0.1
    done
    say "the emulator did not start:"; cat "$WORK/emulator.err"; exit 1
}

say "== yc-iam performance figures ($(date -u '+%Y-%m-%d %H:%M UTC'))"
if want machine; then
    say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
    say "toolchain: $(rustc --version)"
    say "load average at start: $(load)"
fi

# The benches and the CLI, unless only the machine or the (self-contained) build cost is asked for.
needs_bins() {
    for s in micro flow instructions emulator wait cli bulk fleet audit; do want "$s" && return 0; done
    return 1
}
if needs_bins; then
    say "-- building the benches (profile bench)"
    cargo bench --no-run -q 2>/dev/null || cargo bench --no-run
fi
BIN=$TARGET/release/yc-iam

if want micro; then
    say "== (6) hot paths, criterion (load $(load))"
    cargo bench -q --bench hot_paths -- --noplot >"$WORK/hot.txt" 2>&1 || { cat "$WORK/hot.txt"; exit 1; }
    cmd="cargo bench --bench hot_paths"
    figure "token-cache hit (Client::iam_token, OAuth credentials)" "$(fmt_ns "$(estimate hot_token-cache-hit)")" "$cmd -- token-cache"
    figure "validate CreateServiceAccountRequest" "$(fmt_ns "$(estimate hot_validate-create-service-account)")" "$cmd -- validate"
    figure "validate UpdateAccessBindingsRequest (2 deltas)" "$(fmt_ns "$(estimate hot_validate-update-access-bindings)")" "$cmd -- validate"
    stub=$(estimate hot_get-constant-server/stubs)
    fac=$(estimate hot_get-constant-server/facade)
    figure "Get vs constant server: raw stub" "$(fmt_ns "$stub")" "$cmd -- get-constant-server"
    figure "Get vs constant server: facade" "$(fmt_ns "$fac")" "$cmd -- get-constant-server"
    figure "facade per-call work (ids, metadata, auth, lookup)" "$(fmt_ns "$(python3 -c "print($fac - $stub)")")" "$cmd -- get-constant-server"
fi

if want flow; then
    say "== (1) facade overhead vs raw stubs, in-process emulator, instant operations (load $(load))"
    cargo bench -q --bench flow -- --noplot >"$WORK/flow.txt" 2>&1 || { cat "$WORK/flow.txt"; exit 1; }
    cmd="cargo bench --bench flow"
    s=$(estimate flow_sequential/stubs); f=$(estimate flow_sequential/facade)
    figure "sequential flow: stubs" "$(fmt_ns "$s")" "$cmd -- sequential"
    figure "sequential flow: facade" "$(fmt_ns "$f")" "$cmd -- sequential"
    figure "sequential: facade / stubs time (target <= 1.10)" "$(ratio "$f" "$s")" "$cmd -- sequential"
    s=$(estimate flow_1000-at-64/stubs); f=$(estimate flow_1000-at-64/facade)
    figure "1,000 flows at 64: stubs" "$(python3 -c "print(f'{1e12 / $s:.0f} flows/s')")" "$cmd -- 1000-at-64"
    figure "1,000 flows at 64: facade" "$(python3 -c "print(f'{1e12 / $f:.0f} flows/s')")" "$cmd -- 1000-at-64"
    figure "1,000 at 64: facade / stubs throughput (target >= 0.90)" "$(ratio "$s" "$f")" "$cmd -- 1000-at-64"
    say "  the same, alternating stubs and facade round by round (robust to a changing load):"
    cargo bench -q --bench e2e -- overhead --rounds 5 | sed 's/^/    /'
    say "    $ cargo bench --bench e2e -- overhead --rounds 5"
fi

if want instructions; then
    say "== (1) the same flows counted in instructions (callgrind: independent of the machine's load)"
    if command -v valgrind >/dev/null; then
        e2e=$(cargo bench --no-run -q --bench e2e --message-format=json | python3 -c "
import json, sys
print([m['executable'] for m in map(json.loads, sys.stdin)
       if m.get('reason') == 'compiler-artifact' and m.get('executable') and m['target']['name'] == 'e2e'][-1])")
        flows=500
        declare -A per_flow pids
        for variant in stubs stubs-spec facade; do
            valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-$variant" \
                "$e2e" profile --"$variant" --flows $flows --concurrency 64 >"$WORK/cg-$variant.log" 2>&1 &
            pids[$variant]=$!
        done
        for variant in stubs stubs-spec facade; do
            if ! wait "${pids[$variant]}"; then
                say "the $variant profile failed:"; tail -n 20 "$WORK/cg-$variant.log"; exit 1
            fi
        done
        for variant in stubs stubs-spec facade; do
            total=$(awk '/^totals:/ {print $2}' "$WORK/cg-$variant")
            [[ -n $total ]] || { say "no instruction total for $variant"; exit 1; }
            # Start-up (runtime, emulator, first connection, discovery) is included: ~0.6% at 500.
            per_flow[$variant]=$((total / flows))
            figure "instructions per flow at 64, $variant (client + emulator)" "${per_flow[$variant]}" \
                "valgrind --tool=callgrind $e2e profile --$variant --flows $flows --concurrency 64"
        done
        figure "facade / stubs instructions" "$(ratio "${per_flow[facade]}" "${per_flow[stubs]}")" "(above)"
        figure "  stubs sending the facade's headers / stubs" "$(ratio "${per_flow[stubs-spec]}" "${per_flow[stubs]}")" "(above)"
        figure "  facade / stubs sending the facade's headers" "$(ratio "${per_flow[facade]}" "${per_flow[stubs-spec]}")" "(above)"
    else
        say "valgrind is not installed: skipped"
    fi
fi

if want emulator; then
    say "== (5) emulator Get at concurrency 64 over one channel (load $(load))"
    cargo bench -q --bench emulator -- --noplot >"$WORK/emu.txt" 2>&1 || { cat "$WORK/emu.txt"; exit 1; }
    cmd="cargo bench --bench emulator"
    c=$(estimate emulator_get-at-64/constant-server)
    small=$(estimate emulator_get-at-64/emulator-100)
    large=$(estimate emulator_get-at-64/emulator-100000)
    rate() { python3 -c "print(f'{6400e9 / $1:.0f} calls/s')"; }
    figure "constant tonic server" "$(rate "$c")" "$cmd"
    figure "emulator, 100 service accounts" "$(rate "$small")" "$cmd"
    figure "emulator, 100,000 service accounts" "$(rate "$large")" "$cmd"
    figure "emulator / constant server rate (target >= 0.7)" "$(ratio "$c" "$small")" "$cmd"
    figure "100,000 / 100 accounts time per call (target <= 1.2)" "$(ratio "$large" "$small")" "$cmd"
fi

if want wait; then
    say "== (2) the flow with operations that take 1 s (floor 2.0 s, load $(load))"
    cargo bench -q --bench e2e -- wait --flows 5 | sed 's/^/    /'
    say "    $ cargo bench --bench e2e -- wait --flows 5   (target: <= 2.2 s)"
fi

if want cli || want bulk; then
    # The processes measured are the binary a user installs (profile release). Both profiles put
    # it at target/release/yc-iam, linked to whichever profile cargo built last: built here, after
    # the benches.
    cargo build -q --release --bin yc-iam
    python_sdk
    start_emulator
    say "-- emulator: $BIN emulator --listen 127.0.0.1:0 --quota … -> $ADDR (instant operations, quotas raised)"
fi

if want cli; then
    say "== (3) the CLI as a process vs the Python SDK from a fresh process, same emulator (load $(load))"
    export YC_IAM_TOKEN=t1.emulator-default-token YC_FOLDER_ID=b1gemulatorfolder001
    # Both print the key instead of writing a key file (flow.py writes none); the key-file variant
    # is shown too: it adds an fsync of the file, whose cost is the disk's, not the program's.
    provision=("$BIN" --endpoint "http://$ADDR" provision --name "cli-{i}" --role ai.languageModels.user
        --role ai.imageGeneration.user --output -)
    keyfile=("$BIN" --endpoint "http://$ADDR" provision --name "clf-{i}" --role ai.languageModels.user
        --role ai.imageGeneration.user --output "$WORK/key-{i}.json")
    embedded=("$BIN" --emulator provision --name "cli-{i}" --role ai.languageModels.user
        --role ai.imageGeneration.user --output -)
    python=("$PY" scripts/python-sdk/flow.py --endpoint "$ADDR" --name "py-{i}")
    # The four commands run alternately (one run of each in turn), so a drift in the machine's
    # load falls on all of them alike.
    out=$(python3 benches/timeit.py --runs "$RUNS" --label "yc-iam provision --output -" --label "python flow.py" \
        --label "yc-iam --emulator provision --output -" --label "yc-iam provision --output FILE" \
        -- "${provision[@]}" --- "${python[@]}" --- "${embedded[@]}" --- "${keyfile[@]}")
    say "$(grep -v '^MEDIAN_MS' <<<"$out" | sed 's/^/    /')"
    mapfile -t medians < <(sed -n 's/^MEDIAN_MS //p' <<<"$out")
    figure "python / yc-iam provision median wall time (target >= 60)" "$(ratio "${medians[1]}" "${medians[0]}")" \
        "python3 benches/timeit.py --runs $RUNS --label cli --label python -- target/release/yc-iam --endpoint http://ADDR provision --name cli-{i} --role ai.languageModels.user --role ai.imageGeneration.user --output - --- $PY scripts/python-sdk/flow.py --endpoint ADDR --name py-{i}"
    figure "yc-iam provision median wall time, alternated with python" "${medians[0]} ms" "(the same run)"
    figure "provision --emulator / provision median (target <= 1.5)" "$(ratio "${medians[2]}" "${medians[0]}")" \
        "(the same run)"
    # The CLI on its own, beside the floor of any process here and the CLI's own start-up, so
    # that no Python run between two of its runs evicts its caches.
    out=$(python3 benches/timeit.py --runs "$RUNS" --label "/bin/true" --label "yc-iam --version" \
        --label "yc-iam provision --output -" -- /bin/true --- "$BIN" --version --- \
        "$BIN" --endpoint "http://$ADDR" provision --name "solo-{i}" --role ai.languageModels.user \
        --role ai.imageGeneration.user --output -)
    say "$(grep -v '^MEDIAN_MS' <<<"$out" | sed 's/^/    /')"
    mapfile -t medians < <(sed -n 's/^MEDIAN_MS //p' <<<"$out")
    figure "yc-iam provision on its own, median wall time (target <= 3 ms)" "${medians[2]} ms" \
        "python3 benches/timeit.py --runs $RUNS --label true --label version --label cli -- /bin/true --- target/release/yc-iam --version --- target/release/yc-iam --endpoint http://ADDR provision --name solo-{i} --role ai.languageModels.user --role ai.imageGeneration.user --output -"
    /usr/bin/time -v "$BIN" --endpoint "http://$ADDR" provision --name cli-rss --role ai.languageModels.user \
        --role ai.imageGeneration.user --output "$WORK/key-rss.json" >/dev/null 2>"$WORK/time.txt"
    rss=$(awk -F: '/Maximum resident set size/ {print $2}' "$WORK/time.txt" | xargs)
    figure "peak RSS of yc-iam provision (target <= 20 MB)" "$(python3 -c "print(f'{$rss / 1024:.1f} MiB')")" \
        "/usr/bin/time -v target/release/yc-iam --endpoint http://ADDR provision --name NAME --role ... --output FILE"
fi

if want bulk; then
    say "== (4) 1,000 flows at concurrency 64, one client vs the Python SDK on 64 threads (load $(load))"
    # Each measurement gets a fresh emulator process, so both clients see the same (empty) store
    # (the store is indexed, so this is for like-for-like, not because a full store is slower).
    py_rates=() rs_rates=()
    for round in 1 2 3; do
        kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; start_emulator
        out=$("$PY" benches/py_bulk.py --endpoint "$ADDR" --flows 1000 --threads 64)
        say "    round $round: $(head -n1 <<<"$out")"
        py_rates+=("$(grep -oE 'median [0-9.]+' <<<"$out" | cut -d' ' -f2)")
        kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; start_emulator
        out=$(cargo bench -q --bench e2e -- bulk --endpoint "http://$ADDR" --flows 1000 --concurrency 64)
        say "    round $round: $(head -n1 <<<"$out")"
        rs_rates+=("$(grep -oE 'median [0-9.]+' <<<"$out" | cut -d' ' -f2)")
    done
    med() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
    figure "python SDK, 64 threads (median of 3 fresh emulators)" "$(med "${py_rates[@]}") flows/s" \
        "$PY benches/py_bulk.py --endpoint ADDR --flows 1000 --threads 64"
    figure "yc-iam, one client at 64 (median of 3 fresh emulators)" "$(med "${rs_rates[@]}") flows/s" \
        "cargo bench --bench e2e -- bulk --endpoint http://ADDR --flows 1000 --concurrency 64"
    figure "yc-iam / python SDK throughput (target >= 10)" "$(ratio "$(med "${rs_rates[@]}")" "$(med "${py_rates[@]}")")" "(above)"
fi

if want fleet; then
    say "== (9) a fleet of 100 accounts: one apply vs 100 provision processes, one emulator process (load $(load))"
    cargo bench -q --bench e2e -- fleet --rounds 5 --parallel 16 | sed 's/^/    /'
    say "    $ cargo bench --bench e2e -- fleet --rounds 5 --parallel 16   (targets: apply <= 1.5 s and >= 5x; no-op <= 300 ms)"
fi

if want audit; then
    say "== (10) audit of 100 accounts x 3 keys vs the same listings one call at a time (load $(load))"
    cargo bench -q --bench e2e -- audit --rounds 7 --parallel 16 | sed 's/^/    /'
    say "    $ cargo bench --bench e2e -- audit --rounds 7 --parallel 16   (targets: <= 300 ms, ratio <= 0.1)"
    cargo bench -q --bench e2e -- audit --rounds 7 --parallel 16 --latency-ms 2 | sed 's/^/    /'
    say "    $ cargo bench --bench e2e -- audit --rounds 7 --parallel 16 --latency-ms 2"
fi

if want build; then
    say "== (7) build cost: clean release build of the same minimal flow program (load $(load))"
    declare -A secs size stripped
    for prog in yc-iam-flow yandex-cloud-flow; do
        dir=benches/build-cost/$prog
        # yc-iam-flow follows the library at ../../.. , so its lock file may need new entries
        cargo fetch -q --manifest-path "$dir/Cargo.toml"
        tdir=$WORK/build-$prog
        start=$(date +%s.%N)
        CARGO_TARGET_DIR=$tdir cargo build -q --release --offline --manifest-path "$dir/Cargo.toml"
        secs[$prog]=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
        size[$prog]=$(stat -c %s "$tdir/release/$prog")
        strip -o "$tdir/stripped" "$tdir/release/$prog"
        stripped[$prog]=$(stat -c %s "$tdir/stripped")
        rm -rf "$tdir"
        figure "$prog: build time, binary (stripped)" \
            "${secs[$prog]} s, $((size[$prog] / 1024)) KiB ($((stripped[$prog] / 1024)) KiB), load after $(load)" \
            "CARGO_TARGET_DIR=\$(mktemp -d) cargo build --release --manifest-path $dir/Cargo.toml"
    done
    figure "build time yc-iam / yandex-cloud (target <= 0.5)" "$(ratio "${secs[yc-iam-flow]}" "${secs[yandex-cloud-flow]}")" "(above)"
    figure "binary size yc-iam / yandex-cloud (target <= 0.6)" "$(ratio "${size[yc-iam-flow]}" "${size[yandex-cloud-flow]}")" "(above)"
    figure "stripped binary size yc-iam / yandex-cloud" "$(ratio "${stripped[yc-iam-flow]}" "${stripped[yandex-cloud-flow]}")" "(above)"
fi
say "load average at end: $(load)"
