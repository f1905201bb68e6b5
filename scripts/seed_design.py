#!/usr/bin/env python3
"""The seed's design, as a comparator for scripts/bench.sh (stdlib only).

One `pip list --format=json` of the environment, then the per-release JSON document of every
package (`<index>/pypi/<name>/<version>/json`, which carries license, yanked and PyPI's own
`vulnerabilities`) with a fixed number in flight (10), gzip accepted, one keep-alive connection
per worker. Prints one JSON object: packages, requests, bytes on the wire (as received, before
decompression), decoded bytes, and the time of each phase and of the whole.

    scripts/seed_design.py --index URL (--venv VENV | --site-packages DIR) [--cert CA.pem]
                           [--workers 10]
"""

import argparse
import gzip
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def pip_list(args):
    """`pip list --format=json` of the environment: its own interpreter for a venv, else the
    system's pip restricted to the directory (`--path`)."""
    if args.venv:
        command = [os.path.join(args.venv, "bin", "python"), "-m", "pip", "list"]
    else:
        command = [sys.executable, "-m", "pip", "list", "--path", args.site_packages]
    command += ["--format=json", "--disable-pip-version-check"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [(p["name"], p["version"]) for p in json.loads(out)]


class Fetcher:
    """One keep-alive connection per worker thread; counts requests and bytes."""

    def __init__(self, index, cafile):
        self.base = urllib.parse.urlsplit(index)
        self.context = None
        if self.base.scheme == "https":
            self.context = ssl.create_default_context(cafile=cafile)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.requests = 0
        self.wire_bytes = 0
        self.decoded_bytes = 0
        self.failures = 0

    def connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if self.context is not None:
                conn = http.client.HTTPSConnection(self.base.netloc, context=self.context, timeout=30)
            else:
                conn = http.client.HTTPConnection(self.base.netloc, timeout=30)
            self.local.conn = conn
        return conn

    def release(self, name, version):
        path = "{}/pypi/{}/{}/json".format(
            self.base.path.rstrip("/"), urllib.parse.quote(name), urllib.parse.quote(version)
        )
        for attempt in range(2):
            conn = self.connection()
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "gzip", "Accept": "application/json"})
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 1:
                    with self.lock:
                        self.failures += 1
                    return None
        with self.lock:
            self.requests += 1
            self.wire_bytes += len(body)
        if response.status != 200:
            return None
        if response.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self.lock:
            self.decoded_bytes += len(body)
        document = json.loads(body)
        info = document.get("info", {})
        return {
            "license": info.get("license_expression") or info.get("license"),
            "yanked": info.get("yanked", False),
            "vulnerabilities": len(document.get("vulnerabilities") or []),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="base URL of the PyPI JSON API")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--venv")
    where.add_argument("--site-packages")
    parser.add_argument("--cert", help="CA bundle (PEM) for an https index")
    parser.add_argument("--workers", type=int, default=10)
    args = parser.parse_args()

    started = time.monotonic()
    packages = pip_list(args)
    listed = time.monotonic()
    fetcher = Fetcher(args.index, args.cert)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        answers = list(pool.map(lambda p: fetcher.release(*p), packages))
    done = time.monotonic()
    json.dump(
        {
            "packages": len(packages),
            "answered": sum(1 for a in answers if a is not None),
            "requests": fetcher.requests,
            "failures": fetcher.failures,
            "wire_bytes": fetcher.wire_bytes,
            "decoded_bytes": fetcher.decoded_bytes,
            "pip_list_ms": round((listed - started) * 1000),
            "fetch_ms": round((done - listed) * 1000),
            "wall_ms": round((done - started) * 1000),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
