#!/usr/bin/env python3
"""Cold runs of depdash builds alternated run by run (the order flips every round, one round of
warm-up), each on a fresh cache directory, then per build the medians of the report's
`metrics.milestones` and of the whole process's wall time. Where a cold run's time goes, build
against build, on a VM whose speed drifts.

    scripts/milestones_ab.py ROUNDS ENV URL CA BUILD [BUILD ...]

ENV is the environment to check, URL the loopback registry (`examples/loopback_registry ENV
--latency-ms 50 --gzip --tls-dir DIR` prints it), CA its `DIR/ca.pem` (or `-` for plain http).
A BUILD is a depdash binary, optionally `PATH|NAME=VALUE` to run it with one more environment
variable.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MILESTONES = ["first-request", "first-connection", "first-answer", "last-answer", "evaluated"]


def main() -> None:
    rounds, env_dir, url, ca, builds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    results = {b: [] for b in builds}
    with tempfile.TemporaryDirectory() as work:
        cache, report = os.path.join(work, "cache"), os.path.join(work, "report.json")
        for i in range(rounds + 1):
            for build in builds if i % 2 == 0 else builds[::-1]:
                binary, _, var = build.partition("|")
                env = dict(os.environ)
                if var:
                    name, value = var.split("=", 1)
                    env[name] = value
                subprocess.run(["rm", "-rf", cache], check=True)
                command = [binary, "check", env_dir, "--pypi-url", url, "--osv-url", url,
                           "--no-history", "--progress", "never", "--format", "json",
                           "--cache-dir", cache, "-o", report]
                if ca != "-":
                    command += ["--cert", ca]
                started = time.perf_counter()
                subprocess.run(command, env=env, stderr=subprocess.DEVNULL)
                wall = (time.perf_counter() - started) * 1000
                if i == 0:
                    continue
                with open(report) as f:
                    reached = json.load(f)["metrics"]["milestones"]
                results[build].append([reached.get(m, float("nan")) for m in MILESTONES] + [wall])
    for build, runs in results.items():
        medians = [statistics.median(run[j] for run in runs) for j in range(len(MILESTONES) + 1)]
        print(build)
        print("   " + ", ".join(f"{name} {ms:.1f}" for name, ms in zip(MILESTONES + ["wall"], medians)))


if __name__ == "__main__":
    main()
