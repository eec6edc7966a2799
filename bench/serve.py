#!/usr/bin/env python3
"""Loopback static HTTP server for the benchmark.

    python3 bench/serve.py DIR [--mode length|chunked|close] [--port 0]

Serves the files of DIR (no listing, no subdirectories above DIR) on
127.0.0.1. The first line on stdout is "PORT n" (the port actually bound;
the default port 0 lets the kernel pick a free one), then the server runs
until killed (SIGTERM/SIGINT).

--mode says how the body is delimited:
  length   Content-Length, body sent with sendfile(2) (zero-copy).
  chunked  no Content-Length, "Transfer-Encoding: chunked" in 1 MiB chunks,
           keep-alive: what Google's CSV export does on HTTP/1.1.
  close    no Content-Length, body sent with sendfile(2), then the
           connection is closed (the end of the body is the end of the
           connection, as an HTTP/1.0-style download).
--no-content-length is short for --mode chunked.

GET and HEAD only; the reply is text/csv for *.csv. Requests are not logged
unless --verbose. One thread per connection (ThreadingHTTPServer).
"""
import argparse
import http.server
import os
import posixpath
import signal
import socket
import sys
import urllib.parse

CHUNK = 1 << 20


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "sheetsync-bench/1"
    protocol_version = "HTTP/1.1"
    root = "."
    mode = "length"
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("serve: %s - %s\n" % (self.address_string(), fmt % args))

    def _path(self):
        path = urllib.parse.urlsplit(self.path).path
        path = posixpath.normpath(urllib.parse.unquote(path))
        parts = [p for p in path.split("/") if p and p not in (".", "..")]
        full = os.path.join(self.root, *parts)
        return full if parts and os.path.isfile(full) else None

    def _head(self):
        full = self._path()
        if full is None:
            self.send_error(404, "Not found")
            return None, None
        f = open(full, "rb")
        size = os.fstat(f.fileno()).st_size
        self.send_response(200)
        ctype = "text/csv; charset=utf-8" if full.endswith(".csv") else "application/octet-stream"
        self.send_header("Content-Type", ctype)
        if self.mode == "length":
            self.send_header("Content-Length", str(size))
        elif self.mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        return f, size

    def do_HEAD(self):
        f, _ = self._head()
        if f:
            f.close()

    def do_GET(self):
        f, size = self._head()
        if not f:
            return
        try:
            self.wfile.flush()
            if self.mode == "chunked":
                w = self.wfile
                while True:
                    data = f.read(CHUNK)
                    if not data:
                        break
                    w.write(b"%x\r\n" % len(data))
                    w.write(data)
                    w.write(b"\r\n")
                w.write(b"0\r\n\r\n")
                w.flush()
            else:
                self.connection.sendfile(f, 0, size)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            f.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description="Loopback static HTTP server.")
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", choices=["length", "chunked", "close"], default="length")
    ap.add_argument("--no-content-length", action="store_const", dest="mode",
                    const="chunked", help="same as --mode chunked")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    Handler.root = os.path.abspath(args.dir)
    Handler.mode = args.mode
    Handler.verbose = args.verbose
    httpd = Server(("127.0.0.1", args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("PORT %d" % httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
