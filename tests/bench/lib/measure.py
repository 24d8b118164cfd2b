#!/usr/bin/env python3
"""measure.py: run a command several times and report its median wall time and
peak resident memory (from wait4's rusage of that child alone).

Usage: measure.py [--runs N] [--setup CMD] [--expect-exit CODES] -- CMD ARGS...
Prints one JSON line: {"median_ms": ..., "min_ms": ..., "max_rss_kb": ..., "runs": N}.
--setup runs (through the shell) before each run and is not timed.
Benchmarks report ratios between such lines; nothing here fails on a timing.
"""
import argparse, json, os, subprocess, sys, time


def run_once(cmd, expect):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000.0
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if code not in expect:
        sys.exit(f"measure.py: {cmd[0]} exited {code} (expected {expect}): {err.strip()}")
    return elapsed, usage.ru_maxrss


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
