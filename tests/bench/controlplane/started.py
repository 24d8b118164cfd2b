#!/usr/bin/env python3
# tests/bench/controlplane/started.py: the benchmark's clock stop. Follows
# Podman's event stream (GET /libpod/events, container "start" events) on
# one or more libpod sockets, prints "ready" once every stream is open, then
# prints the wall-clock time in ms (as `date +%s%3N`) at which N distinct
# containers whose name starts with PREFIX have started, and exits 0. Exits
# 1 after TIMEOUT seconds. Event-driven, so neither side of the benchmark is
# measured with a polling delay or pays for polling processes on the CPU.
# Usage: started.py N PREFIX TIMEOUT SOCKET...
import json
import select
import socket
import sys
import time
import urllib.parse

API = "/v4.0.0/libpod"


def open_stream(path):
    flt = json.dumps({"type": ["container"], "event": ["start"]})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    q = urllib.parse.urlencode({"stream": "true", "filters": flt})
    s.sendall(f"GET {API}/events?{q} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit(f"{path}: the event stream closed")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise SystemExit(f"{path}: {status.decode(errors='replace')}")
    return s, head.split(b"\r\n\r\n", 1)[1]


def main():
    n, prefix, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    streams = {}
    for path in sys.argv[4:]:
        s, rest = open_stream(path)
        streams[s] = rest
    print("ready", flush=True)
    seen, bodies, last_ns = set(), {}, 0
    deadline = time.monotonic() + timeout
    while len(seen) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"timeout: {len(seen)} of {n} started", file=sys.stderr)
            return 1
        ready, _, _ = select.select(list(streams), [], [], left)
        for s in ready:
            data = s.recv(65536)
            if not data:
                print("an event stream closed", file=sys.stderr)
                return 1
            raw, body = streams[s] + data, bodies.get(s, b"")
            # chunked transfer encoding: "<hex size>\r\n<data>\r\n"
            while b"\r\n" in raw:
                size_line, after = raw.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0] or b"0", 16)
                if len(after) < size + 2:
                    break
                body += after[:size]
                raw = after[size + 2:]
            streams[s] = raw
            while b"\n" in body:
                line, body = body.split(b"\n", 1)
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                name = ev.get("Actor", {}).get("Attributes", {}).get("name", "")
                if name.startswith(prefix) and name not in seen:
                    seen.add(name)
                    last_ns = max(last_ns, int(ev.get("timeNano", 0)))
            bodies[s] = body
    print(last_ns // 1000000 if last_ns else int(time.time() * 1000), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
