"""Fixtures that run real servers for keeper's compatibility tests.

Server kinds: "zookeeper" (Apache ZooKeeper 3.8 through
scripts/zookeeper-standalone.sh) and "keeper" (`$DOUGONG_BIN keeper ...`).
Which kinds run: `--servers=zookeeper,keeper` or KEEPER_TEST_SERVERS (default
both). Every test that takes the `server` fixture runs once per kind.

Time limits: kazoo calls carry timeouts, and every test phase runs under
SIGALRM (default 60 s for the call; `@pytest.mark.timeout_s(N)` overrides),
since pytest-timeout is not installed here.
"""

import atexit
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import zkwire

KINDS = ("zookeeper", "keeper")
HERE = Path(__file__).resolve().parent
REPO_ROOT = Path(os.environ.get("DOUGONG_REPO_ROOT", HERE.parent.parent)).resolve()
ZK_SCRIPT = REPO_ROOT / "scripts" / "zookeeper-standalone.sh"
ZK_CLI = Path("/usr/share/zookeeper/bin/zkCli.sh")
DEFAULT_TEST_TIMEOUT = 60
# Lean JVM flags: the ZooKeeper anchor shares two cores with everything else.
# Container/TTL cleanup every second (ZooKeeper default: 60 s).
DEFAULT_ZK_JVM_OPTS = ("-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
                       "-Dznode.container.checkIntervalMs=1000")

_live_servers = set()


# ------------------------------------------------------------------ options
def pytest_addoption(parser):
    parser.addoption("--servers", default=None,
                     help="comma-separated server kinds to test: zookeeper,keeper "
                          "(default: $KEEPER_TEST_SERVERS or both)")
    parser.addoption("--keep-tmp", action="store_true", default=False,
                     help="keep the servers' data dirs and logs of module fixtures")


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout_s(n): per-test time limit in seconds")


def selected_kinds(config):
    raw = config.getoption("--servers") or os.environ.get("KEEPER_TEST_SERVERS") or ",".join(KINDS)
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise pytest.UsageError("unknown server kind(s) %s; known: %s" % (bad, KINDS))
    return kinds


def pytest_generate_tests(metafunc):
    if "server_kind" in metafunc.fixturenames:
        kinds = selected_kinds(metafunc.config)
        metafunc.parametrize("server_kind", kinds, scope="module")


# ------------------------------------------------------------------ time limits
class PhaseTimeout(Exception):
    pass


def _limit_for(item, phase):
    m = item.get_closest_marker("timeout_s")
    limit = int(m.args[0]) if m else DEFAULT_TEST_TIMEOUT
    if phase == "setup":
        return limit + 90  # module fixtures start servers (JVM) here
    if phase == "teardown":
        return 60
    return limit


def _with_alarm(item, phase):
    limit = _limit_for(item, phase)

    def on_alarm(signum, frame):
        raise PhaseTimeout("%s of %s exceeded %d s" % (phase, item.nodeid, limit))

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    return old


def _clear_alarm(old):
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    old = _with_alarm(item, "setup")
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    old = _with_alarm(item, "call")
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    old = _with_alarm(item, "teardown")
    try:
        yield
    finally:
        _clear_alarm(old)


# ------------------------------------------------------------------ servers
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() with a growing interval until true; raises on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


class Server:
    """One server process on 127.0.0.1:port with its own data dir."""

    def __init__(self, kind, base_dir, admin_port=0, zk_extra=()):
        self.kind = kind
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.host = "127.0.0.1"
        self.port = free_port()
        self.admin_port = admin_port
        self.zk_extra = list(zk_extra)
        self.proc = None
        self.starts = 0
        self.log_path = None

    # -- identity
    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    hosts = address

    def __str__(self):
        return self.address

    def __repr__(self):
        return "Server(%s %s pid=%s)" % (self.kind, self.address, self.pid)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # -- lifecycle
    def command(self):
        if self.kind == "zookeeper":
            if not ZK_SCRIPT.exists():
                pytest.fail("ZooKeeper script missing: %s" % ZK_SCRIPT)
            return ["bash", str(ZK_SCRIPT), str(self.data_dir), str(self.port),
                    "extendedTypesEnabled=true"] + self.zk_extra
        if self.kind == "keeper":
            binary = os.environ.get("DOUGONG_BIN")
            if not binary:
                pytest.fail("DOUGONG_BIN is not set (path of the dougong binary); "
                            "run with KEEPER_TEST_SERVERS=zookeeper to skip keeper")
            if not os.access(binary, os.X_OK):
                pytest.fail("DOUGONG_BIN=%s is not an executable" % binary)
            cmd = [binary, "keeper", "--host", self.host, "--port", str(self.port),
                   "--data-dir", str(self.data_dir), "--admin-port", str(self.admin_port),
                   "--extended-types"]
            if not os.environ.get("KEEPER_TEST_NO_CONFIG"):
                # The settings the ZooKeeper anchor runs with (maxClientCnxns=0
                # in its zoo.cfg, znode.container.checkIntervalMs=1000 above).
                cfg = self.base_dir / "keeper.yaml"
                cfg.write_text("max_client_cnxns_per_ip: 0\n"
                               "container_check_interval_ms: 1000\n")
                cmd += ["--config", str(cfg)]
            return cmd
        raise ValueError(self.kind)

    def start(self, timeout=60):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.log_path = self.base_dir / ("server-%d.log" % self.starts)
        env = dict(os.environ)
        env.setdefault("ZK_JVM_OPTS", DEFAULT_ZK_JVM_OPTS)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        _live_servers.add(self)
        self.wait_ready(timeout)
        return self

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def try_handshake(self, timeout=2.0):
        """A real client handshake; True when the server hands out a session."""
        try:
            c = zkwire.RawClient(self.host, self.port, timeout=timeout)
        except OSError:
            return False
        try:
            resp = c.handshake(timeout_ms=10000)
            ok = resp.session_id != 0 and resp.timeout_ms > 0
            if ok:
                c.close_session()
            return ok
        except (OSError, ValueError, zkwire.Closed):
            return False
        finally:
            c.close()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError("%s exited with %s before serving; log:\n%s"
                                     % (self.kind, rc, self.log_tail()))
            if self.try_handshake():
                return
            if time.monotonic() > deadline:
                raise AssertionError("%s not ready on %s after %d s; log:\n%s"
                                     % (self.kind, self.address, timeout, self.log_tail()))
            # Wakes early if the process dies.
            try:
                self.proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
            delay = min(delay * 1.5, 0.25)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill9(self):
        """kill -9 and reap."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # in case a test paused it
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        _live_servers.discard(self)

    def restart(self, timeout=60):
        """kill -9, then start again on the same data dir and port."""
        self.kill9()
        return self.start(timeout)

    def pause(self):
        self.signal(signal.SIGSTOP)

    def resume(self):
        self.signal(signal.SIGCONT)

    def four_letter_word(self, word):
        return zkwire.four_letter_word(self.address, word)


@atexit.register
def _kill_leftovers():
    for s in list(_live_servers):
        try:
            if s.proc and s.proc.poll() is None:
                os.kill(s.proc.pid, signal.SIGCONT)
                os.kill(s.proc.pid, signal.SIGKILL)
        except OSError:
            pass


class ServerFactory:
    def __init__(self, root):
        self.root = Path(root)
        self.servers = []
        self._n = itertools.count()

    def start(self, kind, **kw):
        d = self.root / ("%s-%d" % (kind, next(self._n)))
        d.mkdir(parents=True)
        s = Server(kind, d, **kw)
        self.servers.append(s)
        try:
            s.start()
        except BaseException:
            s.stop()
            raise
        return s

    def stop_all(self):
        for s in self.servers:
            s.stop()


def _tmp_root(prefix):
    base = os.environ.get("KEEPER_TEST_TMP")
    return tempfile.mkdtemp(prefix=prefix, dir=base)


@pytest.fixture(scope="module")
def module_factory(request):
    root = _tmp_root("keeper-test-")
    f = ServerFactory(root)
    yield f
    f.stop_all()
    if not request.config.getoption("--keep-tmp"):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_factory():
    root = _tmp_root("keeper-test-")
    f = ServerFactory(root)
    yield f
    f.stop_all()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server(server_kind, module_factory):
    """A server of each selected kind, shared by the tests of a module."""
    s = module_factory.start(server_kind)
    yield s


@pytest.fixture
def fresh_server(server_kind, server_factory):
    """A server of this kind for one test (killed, paused, restarted...)."""
    return server_factory.start(server_kind)


@pytest.fixture(scope="module")
def server_pair(request, module_factory):
    """(reference ZooKeeper, candidate) for differential tests. The candidate
    is keeper when selected, otherwise a second ZooKeeper (which checks that
    the comparison itself is deterministic)."""
    kinds = selected_kinds(request.config)
    cand_kind = "keeper" if "keeper" in kinds else "zookeeper"
    ref = module_factory.start("zookeeper")
    cand = module_factory.start(cand_kind)
    return ref, cand


# ------------------------------------------------------------------ clients
@pytest.fixture
def kazoo_factory():
    """make(server_or_hosts, **kw) -> a started KazooClient, closed at teardown."""
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry

    clients = []

    def make(srv, timeout=10.0, start=True, **kw):
        hosts = srv if isinstance(srv, str) else srv.address
        kw.setdefault("connection_retry", KazooRetry(max_tries=-1, delay=0.05,
                                                     max_delay=0.5, deadline=30))
        c = KazooClient(hosts=hosts, timeout=timeout, **kw)
        clients.append(c)
        if start:
            c.start(timeout=15)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


_path_counter = itertools.count()


@pytest.fixture
def base_path(request):
    """A unique top-level path per test, so tests can share a server."""
    name = request.node.originalname.replace("test_", "")[:40]
    return "/%s-%d" % (name, next(_path_counter))
