#!/usr/bin/env python3
"""cpu.py: CPU time (user + system) and page faults of commands, measured
in the same run with their runs interleaved (A B A B ...), so that load
changes on a shared machine hit every command alike. Wall time on such a
machine is mostly waiting for a CPU; CPU time is what a command costs.

Usage: cpu.py --runs N -- CMD1_JSON CMD2_JSON ...   (each a JSON list of argv)
Prints one JSON line per command, in order:
{"median_cpu_ms": ..., "min_cpu_ms": ..., "median_faults": ..., "median_wall_ms": ..., "runs": N}
CPU time and minor faults come from wait4()'s rusage of the child (posix_spawn,
so no copy of this Python process is charged). Wall time is from just before
the spawn to wait4's return: no shell or GNU time in between, which in
measure.py add about 10 ms to every run and hide what a small program costs.
Never fails on a timing.
"""
import argparse, json, os, statistics, sys, time


def run_once(argv):
    devnull = os.open(os.devnull, os.O_WRONLY)
    start = time.perf_counter()
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    finally:
        os.close(devnull)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter() - start) * 1000.0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"cpu.py: {argv[0]} failed (status {status})")
    return (ru.ru_utime + ru.ru_stime) * 1000.0, ru.ru_minflt + ru.ru_majflt, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("cmds", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmds = [json.loads(c) for c in a.cmds if c != "--"]
    res = [[] for _ in cmds]
    for _ in range(a.runs):
        for i, c in enumerate(cmds):
            res[i].append(run_once(c))
    for r in res:
        cpu = [x[0] for x in r]
        print(json.dumps({"median_cpu_ms": round(statistics.median(cpu), 2),
                          "min_cpu_ms": round(min(cpu), 2),
                          "median_faults": statistics.median([x[1] for x in r]),
                          "median_wall_ms": round(statistics.median([x[2] for x in r]), 2),
                          "runs": len(r)}))


if __name__ == "__main__":
    main()
