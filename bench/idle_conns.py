#!/usr/bin/env python3
"""Idle-connection footprint probe.

Opens N plain TCP connections to a running server (bench/echo_server or
bench/grpc/echo_grpc_server), keeps them open and idle, waits until the server
process holds them all (counted from /proc/PID/fd), then reads the server's
VmRSS from /proc/PID/status and prints one key=value line:

  connections=10000 accepted_fds=10000 baseline_rss_mib=.. rss_mib=.. per_conn_kib=..

  python3 bench/idle_conns.py --port=PORT --pid=SERVER_PID [--host=127.0.0.1]
                              [--connections=10000] [--settle=2]

The server must run on this machine (its /proc is read) and needs a file
descriptor limit above N (`ulimit -n 65536` before starting it). This script
raises its own RLIMIT_NOFILE.
"""
import argparse
import os
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def socket_fds(pid):
    n = 0
    d = f"/proc/{pid}/fd"
    for name in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, name)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="server process id")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to wait after the last connect before reading RSS")
    args = ap.parse_args()

    want = args.connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:  # raising the hard limit needs CAP_SYS_RESOURCE; else go up to it
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
        except (ValueError, OSError):
            if hard != resource.RLIM_INFINITY and hard < want:
                sys.exit(f"idle_conns: RLIMIT_NOFILE hard limit {hard} < {want}")
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    base_fds = socket_fds(args.pid)
    baseline = rss_kib(args.pid)
    socks = []
    failed = 0
    t0 = time.monotonic()
    for _ in range(args.connections):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect((args.host, args.port))
            socks.append(s)
        except OSError as e:
            failed += 1
            s.close()
            if failed <= 3:
                print(f"idle_conns: connect failed: {e}", file=sys.stderr)
    connect_s = time.monotonic() - t0

    # Wait for the server to accept them all (or stop growing), then settle.
    deadline = time.monotonic() + 30
    accepted = socket_fds(args.pid) - base_fds
    while accepted < len(socks) and time.monotonic() < deadline:
        time.sleep(0.2)
        accepted = socket_fds(args.pid) - base_fds
    time.sleep(args.settle)
    accepted = socket_fds(args.pid) - base_fds
    rss = rss_kib(args.pid)
    alive = len(socks)
    per_conn = (rss - baseline) / alive if alive else 0.0
    print(f"connections={alive} failed={failed} accepted_fds={accepted} "
          f"connect_s={connect_s:.2f} baseline_rss_mib={baseline / 1024:.1f} "
          f"rss_mib={rss / 1024:.1f} per_conn_kib={per_conn:.2f}", flush=True)
    for s in socks:
        s.close()
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
