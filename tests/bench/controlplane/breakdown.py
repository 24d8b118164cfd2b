#!/usr/bin/env python3
# tests/bench/controlplane/breakdown.py: where the time of a 1-pod round of
# the control-plane benchmark goes, from the logs of a run with
# LOG_LEVEL=debug LOG_DIR=DIR (run.sh copies daemon.log, agent-*.log and
# rounds.log there). For each keelson round of one pod it prints every stage
# in ms after `git commit` started: the inotify trigger, the sync (fetch,
# render, plan, apply), the pod reaching its agent (controller pass,
# scheduler, API watch), each Podman REST call of the agent with its
# duration, the container's start event (the clock stop) and the status
# report. Rounds of more pods get one line of totals.
# Usage: breakdown.py LOG_DIR
import datetime
import glob
import os
import re
import sys

LINE = re.compile(r'^ts=(\S+) level=(\w+) msg="([^"]*)"(.*)$')
PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse(path):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
            ms = ts.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
            kv = {k: v.strip('"') for k, v in PAIR.findall(m.group(4))}
            out.append((ms, m.group(3), kv))
    return out


def main():
    d = sys.argv[1]
    daemon = parse(os.path.join(d, "daemon.log"))
    agents = {os.path.basename(p)[6:-4]: parse(p) for p in glob.glob(os.path.join(d, "agent-*.log"))}
    rounds = []
    with open(os.path.join(d, "rounds.log")) as f:
        for line in f:
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            rounds.append((line.split()[0], int(kv["pods"]), int(kv.get("commit_ms", kv.get("request_ms"))),
                           int(kv["started_ms"])))
    for i, (who, n, t0, t1) in enumerate(rounds):
        print(f"round {i + 1}: {who}, {n} pod(s): {t1 - t0} ms to the last container's start event")
        if who != "keelson":
            continue
        end = t1 + 2000

        def first(events, msg, after, pred=lambda kv: True):
            for ms, m, kv in events:
                if ms >= after and m == msg and pred(kv):
                    return ms, kv
            return None, None

        trig, _ = first(daemon, "sync triggered", t0 - 5)
        sync, skv = first(daemon, "sync applied", t0 - 5)
        if trig is not None:
            print(f"  {trig - t0:7.0f}  inotify: sync triggered")
        if sync is not None:
            ms = int(skv.get("ms", "0"))
            print(f"  {sync - ms - t0:7.0f}  sync started")
            print(f"  {sync - t0:7.0f}  sync applied ({ms} ms: fetch, render, plan, apply)")
        for node, ev in agents.items():
            got, akv = first(ev, "pod assigned", t0 - 5)
            if got is None or got > t1:
                continue
            print(f"  {got - t0:7.0f}  pod {akv.get('pod')} assigned on {node} "
                  "(controller pass, scheduler, API watch)")
            calls = [(ms, kv) for ms, m, kv in ev if m == "podman call" and got <= ms <= end]
            rep, _ = first(ev, "status reported", got, lambda kv: kv.get("phase") == "Running")
            if n == 1:
                for ms, kv in calls:
                    if rep is not None and ms > rep:
                        break
                    took = float(kv.get("ms", "0"))
                    req = re.sub(r"[0-9a-f]{64}", "<id>", kv.get("request", ""))
                    req = re.sub(r"filters=\S+", "filters=...", req)
                    print(f"  {ms - took - t0:7.0f}  {req} -> {kv.get('status')} ({took:.0f} ms)")
            else:
                upto = [c for c in calls if c[0] <= t1]
                print(f"           {len(upto)} Podman calls on {node} until the last start, "
                      f"{sum(float(c[1].get('ms', '0')) for c in upto):.0f} ms in all")
            print(f"  {t1 - t0:7.0f}  container started (Podman start event: the clock stops)")
            if rep is not None:
                print(f"  {rep - t0:7.0f}  status Running reported to the control plane")
    return 0


if __name__ == "__main__":
    sys.exit(main())
