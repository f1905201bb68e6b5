"""Disk load for benchmarks: creates and deletes 3,000 small files at a time under /tmp for
SECONDS, the kind of moment when ext4's inode allocation slows every file creation (see README,
Speed: pack files). Usage: python3 scripts/file_churn.py SECONDS"""
import os
import shutil
import sys
import tempfile
import time

end = time.time() + float(sys.argv[1])
base = tempfile.mkdtemp(prefix="churn-")
try:
    while time.time() < end:
        d = os.path.join(base, "d")
        os.makedirs(d)
        for n in range(3000):
            with open(os.path.join(d, str(n)), "w") as f:
                f.write("x")
        shutil.rmtree(d)
finally:
    shutil.rmtree(base, ignore_errors=True)
