"""Durability of keeper across kill -9, and zxids across a 32-bit wrap.

Self-contained (it starts keeper itself): DOUGONG_BIN names the binary.
"""
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

DOUGONG = os.environ.get("DOUGONG_BIN", "dougong")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Keeper:
    def __init__(self, data_dir, *extra):
        self.data_dir = data_dir
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [DOUGONG, "keeper", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", self.data_dir,
             "--admin-port", "0", *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Ready when it prints that it serves (it binds before printing).
        deadline = time.time() + 30
        lines = []
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "serving the ZooKeeper protocol" in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return
        raise RuntimeError("keeper did not start:\n" + "".join(lines))

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def client(self):
        k = KazooClient(hosts=f"127.0.0.1:{self.port}", timeout=10,
                        connection_retry=KazooRetry(max_tries=3, delay=0.05, max_delay=0.2))
        k.start(timeout=10)
        return k


def stop_client(k, timeout=10):
    """kazoo's stop() can block for good when its server was killed under
    it; the test must not: stop it on a daemon thread, bounded."""
    def stop():
        try:
            k.stop()
            k.close()
        except Exception:
            pass
    t = threading.Thread(target=stop, daemon=True)
    t.start()
    t.join(timeout)


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="keeper-durability-") as d:
        yield d


def check_acked(k, acked, rnd):
    # Pipelined reads: one round trip per batch, not per node.
    items = list(acked.items())
    for i in range(0, len(items), 500):
        batch = items[i:i + 500]
        pending = [(path, data, k.get_async(path)) for path, data in batch]
        for path, data, r in pending:
            got, _ = r.get(timeout=30)
            assert got == data, f"round {rnd}: {path} has {got!r}, acknowledged {data!r}"


@pytest.mark.timeout_s(220)
def test_no_acknowledged_write_is_lost_across_kill9(data_dir):
    rng = random.Random(int(os.environ.get("SEED", "1234")))
    # Small snap count: snapshots are taken (forked) while the loop runs, so
    # recovery is exercised from snapshot + log, not only from the log.
    server = Keeper(data_dir, "--snap-count", "300")
    acked = {}          # path -> data, for every create that was answered OK
    counter_acked = -1  # highest setData value answered OK
    rounds = int(os.environ.get("ROUNDS", "8"))
    try:
        server.start()
        k = server.client()
        k.ensure_path("/d")
        k.create("/counter", b"-1")
        k.stop()
        k.close()
        for rnd in range(rounds):
            k = server.client()
            # Everything acknowledged so far must be there, exactly.
            check_acked(k, dict(acked), rnd)
            value = int(k.get("/counter")[0])
            assert value >= counter_acked, f"round {rnd}: counter {value} < acknowledged {counter_acked}"

            lock = threading.Lock()
            stop = threading.Event()
            results = []

            def on_create(path, data):
                def cb(async_result):
                    try:
                        async_result.get_nowait()
                    except Exception:
                        return
                    with lock:
                        acked[path] = data
                return cb

            def on_set(v):
                def cb(async_result):
                    nonlocal counter_acked
                    try:
                        async_result.get_nowait()
                    except Exception:
                        return
                    with lock:
                        counter_acked = max(counter_acked, v)
                return cb

            def writer():
                i = 0
                while not stop.is_set() and i < 20000:
                    path = f"/d/r{rnd}-{i}"
                    data = f"{rnd}:{i}:{rng.random()}".encode()
                    r = k.create_async(path, data)
                    r.rawlink(on_create(path, data))
                    if i % 5 == 0:
                        s = k.set_async("/counter", str(rnd * 100000 + i).encode())
                        s.rawlink(on_set(rnd * 100000 + i))
                    results.append(r)
                    i += 1
                    if i % 50 == 0:
                        time.sleep(0.001)

            t = threading.Thread(target=writer, daemon=True)
            t.start()
            time.sleep(rng.uniform(0.05, 0.4))
            server.kill9()
            stop.set()
            t.join(10)
            stop_client(k)
            with lock:
                n = len(acked)
            server.start()
            assert n > 0 or rnd > 0, "nothing was acknowledged before the kill"
        k = server.client()
        check_acked(k, dict(acked), rounds)
        assert int(k.get("/counter")[0]) >= counter_acked
        k.stop()
        k.close()
    finally:
        server.stop()


def test_zxid_counter_wraps_past_32_bits(data_dir):
    # ZOOKEEPER-1277: ZooKeeper's zxid is epoch<<32 | counter and a leader
    # must force an election before the counter wraps. Keeper's zxid is one
    # 64-bit counter: crossing 2^32 is an ordinary increment, no restart.
    start = 0xFFFFFFF0
    server = Keeper(data_dir, "--initial-zxid", str(start))
    try:
        server.start()
        k = server.client()
        czxids = []
        for i in range(40):
            k.create(f"/w{i}", b"x")
            czxids.append(k.exists(f"/w{i}").czxid)
        assert czxids == sorted(czxids) and len(set(czxids)) == 40
        assert czxids[0] < 2**32 <= czxids[-1], [hex(z) for z in czxids]
        k.stop()
        k.close()
        server.kill9()
        server.start()
        k = server.client()
        assert [k.exists(f"/w{i}").czxid for i in range(40)] == czxids
        k.create("/after", b"y")
        assert k.exists("/after").czxid > czxids[-1]
        k.stop()
        k.close()
    finally:
        server.stop()


def test_damaged_log_refuses_to_start_unless_repair(data_dir):
    server = Keeper(data_dir, "--snap-count", "0")
    server.start()
    k = server.client()
    for i in range(200):
        k.create(f"/n{i}", b"v" * 50)
    k.stop()
    k.close()
    server.stop()
    logs = sorted(f for f in os.listdir(data_dir) if f.startswith("log.") and f != "log.lock")
    assert logs, os.listdir(data_dir)
    path = os.path.join(data_dir, logs[-1])
    with open(path, "r+b") as f:
        data = f.read()
        end = len(data.rstrip(b"\0"))
        where = end // 3
        f.seek(where)
        f.write(bytes([data[where] ^ 0xFF]))
    # Strict (default): refuses, naming the file and offset.
    proc = subprocess.run([DOUGONG, "keeper", "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir,
                           "--admin-port", "0"], capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert logs[-1] in out and "--repair" in out, out
    # --repair cuts the log at the damage; what came before is served.
    server.extra.append("--repair")
    server.start()
    k = server.client()
    assert k.exists("/n0") is not None
    present = sum(1 for i in range(200) if k.exists(f"/n{i}") is not None)
    assert 0 < present < 200, present
    k.stop()
    k.close()
    server.stop()
