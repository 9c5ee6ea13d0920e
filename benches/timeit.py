#!/usr/bin/env python3
"""Runs commands N times each, alternating, and prints each one's median wall time and peak RSS.

Alternating (A, B, A, B, ...) spreads any drift of the machine's load over every command alike,
so the ratio of two medians is fairer than two medians measured one after the other.

The peak RSS comes from `/usr/bin/time`, not from this script's own wait4: Python starts a child
with vfork, and on exec the kernel records the parent's resident size as the child's peak.

Usage: timeit.py --runs N --label A [--label B ...] -- COMMAND A ARGS... [--- COMMAND B ARGS...]
One --label per command; "{i}" in an argument becomes the run's index, so every run can use a
fresh name. A failing run stops everything with its output. The last lines are machine-readable:
"MEDIAN_MS <ms>" per command in order, and with two commands "RATIO <B median / A median>".
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


def run_once(label, argv):
    """Wall time of one run of `argv`; exits with its output when it fails."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, _ = os.wait4(child.pid, 0)
    took = time.perf_counter() - start
    out, err = child.stdout.read(), child.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(out.decode(errors="replace") + err.decode(errors="replace"))
        sys.exit(f"{label}: exited with {code}: {' '.join(argv)}")
    return took


def split_commands(words):
    """The words after `--`, split into commands at each `---`."""
    words = words[1:] if words[:1] == ["--"] else words
    commands = [[]]
    for word in words:
        if word == "---":
            commands.append([])
        else:
            commands[-1].append(word)
    return commands


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--label", action="append", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    commands = split_commands(args.command)
    if len(commands) != len(args.label) or not all(commands):
        sys.exit(f"{len(args.label)} labels for {len(commands)} commands: give one non-empty command per --label")
    times = [[] for _ in commands]
    for i in range(args.runs):
        for label, command, took in zip(args.label, commands, times):
            took.append(run_once(label, [a.replace("{i}", str(i)) for a in command]))
    medians = [statistics.median(t) * 1000 for t in times]
    for label, command, took, median in zip(args.label, commands, times, medians):
        rss = peak_rss_mib([a.replace("{i}", f"rss{os.getpid()}") for a in command])
        print(
            f"{label}: median {median:.1f} ms (min {min(took) * 1000:.1f}, max {max(took) * 1000:.1f}) "
            f"over {args.runs} runs, peak RSS {rss}"
        )
    for median in medians:
        print(f"MEDIAN_MS {median:.3f}")
    if len(medians) == 2:
        print(f"RATIO {medians[1] / medians[0]:.2f}")


if __name__ == "__main__":
    main()
