#!/usr/bin/env python3
"""Runs a command N times and prints its median wall time, then its peak RSS from one more run.

The peak RSS comes from `/usr/bin/time`, not from this script's own wait4: Python starts a child
with vfork, and on exec the kernel records the parent's resident size as the child's peak.

Usage: timeit.py --runs N --label TEXT -- COMMAND ARGS...   ("{i}" in an argument becomes the
run's index, so every run can use a fresh name). A failing run stops everything with its output.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def peak_rss_mib(argv):
    """The peak RSS of one run of `argv`, measured by GNU time (a small parent)."""
    with tempfile.NamedTemporaryFile(mode="r") as report:
        try:
            subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", report.name, *argv], capture_output=True, check=True
            )
            return f"{int(report.read().split()[-1]) / 1024:.1f} MiB"
        except (OSError, ValueError, IndexError, subprocess.CalledProcessError) as e:
            return f"unknown ({e})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--label", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    times = []
    for i in range(args.runs):
        argv = [a.replace("{i}", str(i)) for a in command]
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, _ = os.wait4(child.pid, 0)
        took = time.perf_counter() - start
        out, err = child.stdout.read(), child.stderr.read()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.stderr.write(out.decode(errors="replace") + err.decode(errors="replace"))
            sys.exit(f"{args.label}: run {i} exited with {code}: {' '.join(argv)}")
        times.append(took)
    print(
        f"{args.label}: median {statistics.median(times) * 1000:.1f} ms "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}) over {args.runs} runs, "
        f"peak RSS {peak_rss_mib([a.replace('{i}', f'rss{os.getpid()}') for a in command])}"
    )
    print(f"MEDIAN_MS {statistics.median(times) * 1000:.3f}")


if __name__ == "__main__":
    main()
