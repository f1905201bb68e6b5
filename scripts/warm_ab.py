#!/usr/bin/env python3
"""Commands alternated run by run (the order flips every round, two rounds of warm-up), then
per command the median wall time, user and system CPU and peak RSS of its own process tree.
On a VM whose speed drifts, alternating is what makes two builds comparable.

    scripts/warm_ab.py 10 "depdash-before check ENV ..." "depdash check ENV ..."
"""
import os
import statistics
import sys
import time


def main() -> None:
    rounds, commands = int(sys.argv[1]), sys.argv[2:]
    runs = {c: [] for c in commands}
    for i in range(rounds + 2):
        for command in commands if i % 2 == 0 else commands[::-1]:
            started = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os.execvp("/bin/sh", ["/bin/sh", "-c", command + " >/dev/null 2>&1"])
            _, _, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - started
            if i >= 2:
                runs[command].append(
                    (wall * 1000, usage.ru_utime * 1000, usage.ru_stime * 1000, usage.ru_maxrss)
                )
    for command, r in runs.items():
        median = lambda k: statistics.median(x[k] for x in r)
        print(command)
        print(
            f"   wall median {median(0):.1f} ms (min {min(x[0] for x in r):.1f}), "
            f"user {median(1):.0f} ms, sys {median(2):.0f} ms, "
            f"peak RSS median {median(3) / 1024:.1f} MiB (max {max(x[3] for x in r) / 1024:.1f})"
        )


if __name__ == "__main__":
    main()
