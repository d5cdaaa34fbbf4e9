#!/usr/bin/env python3
"""fdatasync latency of 4 KiB appends in three kinds of file space.

Figures, not a test. Why it exists: the keeper's log used fallocate()d
segments; on ext4 a write into unwritten extents makes the next fdatasync
commit the journal, which waits for whatever else the filesystem has
queued. The log now zero-fills ahead instead (docs/keeper_storage.md).

  python3 bench/fsync_modes.py [DIR] [COUNT]

DIR defaults to the current directory (measure the filesystem the data dir
is on); run it while something else writes (a build) to see the difference.
"""
import os
import sys
import time

MODES = ("append", "falloc", "zeroed")


def run(directory, mode, count, size=4096):
    path = os.path.join(directory, f".fsync_modes_{os.getpid()}_{mode}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        total = count * size + (1 << 20)
        if mode == "falloc":
            os.posix_fallocate(fd, 0, total)
        elif mode == "zeroed":
            os.write(fd, b"\0" * total)
            os.fsync(fd)
        buf = b"x" * size
        lat = []
        for i in range(count):
            t = time.perf_counter()
            os.pwrite(fd, buf, i * size)
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]
    print(f"{mode:7} p50 {q(0.5):6.0f} p90 {q(0.9):6.0f} p99 {q(0.99):6.0f} "
          f"p999 {q(0.999):6.0f} max {lat[-1]:6.0f} us")


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    for mode in MODES:
        run(directory, mode, count)


if __name__ == "__main__":
    main()
