#!/usr/bin/env python3
"""A hostile HTTP server on 127.0.0.1 for measuring depdash's bounds by hand (README, "Failing
closed"). Not used by the test suite, which has its own loopback servers.

    scripts/hostile.py blackhole PORT   accept every connection, read the request, never answer
    scripts/hostile.py bomb PORT [MiB]  answer every request 200 with a gzip body that inflates
                                        to MiB (default 1024) of spaces, ~1 KiB per MiB on the wire
"""
import socket
import sys
import threading
import zlib


def bomb_body(mib):
    # One MiB compressed with a sync flush, then the next MiB's blocks (which only refer back to
    # spaces) repeated; no trailer: a client must stop on the size long before the end.
    chunk = b" " * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH)
    repeat = c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH)
    return first + repeat * (mib - 1)


def serve(mode, port, mib):
    body = bomb_body(mib) if mode == "bomb" else b""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(512)
    held = []

    def handle(conn):
        try:
            conn.recv(65536)
            if mode == "blackhole":
                held.append(conn)  # keep it open, say nothing
                return
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            conn.sendall(head.encode() + body)
            conn.close()
        except OSError:
            pass

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1024)
