#!/usr/bin/env python3
"""measure.py: run a command several times and report its median wall time and
peak resident memory.

Usage: measure.py [--runs N] [--setup CMD] [--expect-exit CODES] -- CMD ARGS...
Prints one JSON line: {"median_ms": ..., "min_ms": ..., "max_rss_kb": ..., "runs": N}
(peak resident memory as GNU time reports it for the command).
--setup runs (through the shell) before each run and is not timed.
Benchmarks report ratios between such lines; nothing here fails on a timing.
"""
import argparse, json, os, subprocess, sys, tempfile, time

TIME = "/usr/bin/time"  # GNU time (Debian package "time", installed by ci/setup)


def run_once(cmd, expect):
    # Peak memory comes from GNU time (a small C program): a child forked from
    # this Python process would inherit Python's high-water RSS (Linux keeps
    # the larger of the pre-exec and post-exec peaks), hiding small programs.
    with tempfile.NamedTemporaryFile() as rss, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%M", "-o", rss.name] + cmd,
                              stdout=subprocess.DEVNULL, stderr=err)
        elapsed = (time.perf_counter() - start) * 1000.0
        if proc.returncode not in expect:
            err.seek(0)
            msg = err.read().decode(errors="replace").strip()
            sys.exit(f"measure.py: {cmd[0]} exited {proc.returncode} (expected {expect}): {msg}")
        lines = [l for l in open(rss.name).read().splitlines() if l.strip().isdigit()]
    return elapsed, int(lines[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--setup")
    ap.add_argument("--expect-exit", default="0")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    expect = [int(x) for x in a.expect_exit.split(",")]
    times, rss = [], 0
    for _ in range(a.runs):
        if a.setup:
            subprocess.run(a.setup, shell=True, check=True)
        t, r = run_once(cmd, expect)
        times.append(t)
        rss = max(rss, r)
    times.sort()
    print(json.dumps({"median_ms": round(times[len(times) // 2], 2), "min_ms": round(times[0], 2),
                      "max_rss_kb": rss, "runs": a.runs}))


if __name__ == "__main__":
    main()
