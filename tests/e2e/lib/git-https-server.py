#!/usr/bin/env python3
# git-https-server.py: a Git smart-HTTP(S) server on loopback for e2e tests
# of pushes with a token: `git http-backend` (CGI) behind Python's
# http.server, HTTPS with the given certificate, HTTP Basic auth that accepts
# only user:token (401 with WWW-Authenticate otherwise, as GitHub/Gitea do).
#   git-https-server.py ROOT PORTFILE USER TOKEN CERT KEY LOG
# Serves ROOT/<repo>.git at https://localhost:<port>/<repo>.git (listening on
# 127.0.0.1 and, when there is one, ::1: "localhost" may mean either); writes the
# port to PORTFILE once listening; one line per request to LOG.
import base64
import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading

root, portfile, user, token, cert, key, logfile = sys.argv[1:8]
want = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with open(logfile, "a") as f:
            f.write("%s\n" % (fmt % args))

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def git(self):
        data = self.body()
        if self.headers.get("Authorization") != want:
            self.reply(401, [("WWW-Authenticate", 'Basic realm="git"')], b"")
            return
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1",
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(data)), REMOTE_USER=user, REMOTE_ADDR="127.0.0.1")
        out = subprocess.run(["git", "http-backend"], input=data, env=env,
                             capture_output=True).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, rest = out.partition(sep)
        status, headers = 200, []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.reply(status, headers, rest)

    do_GET = git
    do_POST = git


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
port = srv.server_address[1]
try:
    srv6 = Server6(("::1", port), Handler)
    srv6.socket = ctx.wrap_socket(srv6.socket, server_side=True)
    threading.Thread(target=srv6.serve_forever, daemon=True).start()
except OSError:
    pass  # no IPv6 loopback, or the port is taken there: 127.0.0.1 only
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
