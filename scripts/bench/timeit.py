#!/usr/bin/env python3
"""Runs a command N times and prints its median wall time and peak RSS (from wait4's rusage).

Usage: timeit.py --runs N --label TEXT -- COMMAND ARGS...   ("{i}" in an argument becomes the
run's index, so every run can use a fresh name). A failing run stops everything with its output.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--label", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    times, rss = [], []
    for i in range(args.runs):
        argv = [a.replace("{i}", str(i)) for a in command]
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - start
        out, err = child.stdout.read(), child.stderr.read()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.stderr.write(out.decode(errors="replace") + err.decode(errors="replace"))
            sys.exit(f"{args.label}: run {i} exited with {code}: {' '.join(argv)}")
        times.append(took)
        rss.append(usage.ru_maxrss / 1024)  # KiB -> MiB
    print(
        f"{args.label}: median {statistics.median(times) * 1000:.1f} ms "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}) over {args.runs} runs, "
        f"peak RSS {max(rss):.1f} MiB"
    )
    print(f"MEDIAN_MS {statistics.median(times) * 1000:.3f}")


if __name__ == "__main__":
    main()
