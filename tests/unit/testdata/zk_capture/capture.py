#!/usr/bin/python3
"""Captures real ZooKeeper 3.8 client/server traffic for zk_capture_test.

Starts Apache ZooKeeper 3.8 (scripts/zookeeper-standalone.sh, with
extendedTypesEnabled=true for TTL nodes) on a free loopback port, puts a
recording TCP proxy in front of it and drives three clients through the
proxy: kazoo, zkCli.sh (the Java client) and, when libzookeeper_mt.so is
installed, Apache's C client through ctypes. Each client's connections are
written to <client>.txt next to this script:

    # connection N         starts a connection (one TCP stream each way)
    C>S <hex>              a client-to-server packet, without its length
    S>C <hex>              a server-to-client packet, without its length

Lines are in the order the proxy saw the packets, so a reply always follows
its request. The test (tests/unit/zk_capture_test.cpp) only reads the .txt
files; run this by hand to regenerate them:

    /usr/bin/python3 tests/unit/testdata/zk_capture/capture.py

It needs Debian's python3 (kazoo), the `zookeeper` package and java.
"""

import base64
import ctypes
import glob
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
ZK_SCRIPT = os.path.join(REPO, "scripts", "zookeeper-standalone.sh")
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(port, timeout=60.0):
    """Retries a connect until ZooKeeper listens and serves (`srvr` answers
    with its zxid; before that it drops sessions, which would clutter the
    capture with unanswered ConnectRequests)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"srvr")
                answer = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                if b"Zxid" in answer:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("ZooKeeper did not serve on port %d" % port)


# ---------------------------------------------------------------- proxy


class Connection:
    """One proxied client connection: both byte streams, split in packets."""

    def __init__(self, log, lock):
        self.log = log      # shared, ordered list of (conn id, dir, payload)
        self.lock = lock
        self.buf = {"C>S": b"", "S>C": b""}
        self.socks = []

    def feed(self, direction, data):
        # Called before `data` is forwarded: a reply can only be logged after
        # the request it answers.
        with self.lock:
            buf = self.buf[direction] + data
            while len(buf) >= 4:
                (n,) = struct.unpack(">i", buf[:4])
                if len(buf) < 4 + n:
                    break
                self.log.append((id(self), direction, buf[4:4 + n]))
                buf = buf[4 + n:]
            self.buf[direction] = buf


class Proxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.log = []
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            conn = Connection(self.log, self.lock)
            conn.socks = [client, server]
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._pump, args=(conn, client, server, "C>S"), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, server, client, "S>C"), daemon=True).start()

    @staticmethod
    def _pump(conn, src, dst, direction):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                conn.feed(direction, data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop_all(self):
        """Cuts every open connection (the client then reconnects)."""
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            for s in conn.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self):
        """Returns and forgets what was logged so far: [[(dir, payload)]]."""
        with self.lock:
            log, self.log[:] = list(self.log), []
            for conn in self.conns:
                left = {d: len(b) for d, b in conn.buf.items() if b}
                if left:
                    print("warning: incomplete packet bytes at close: %r" % left, file=sys.stderr)
            self.conns = []
        order, by_conn = [], {}
        for cid, direction, payload in log:
            if cid not in by_conn:
                by_conn[cid] = []
                order.append(cid)
            by_conn[cid].append((direction, payload))
        return [by_conn[c] for c in order]


def write_capture(name, conversations):
    path = os.path.join(HERE, name + ".txt")
    with open(path, "w") as f:
        for i, conv in enumerate(conversations):
            f.write("# connection %d\n" % (i + 1))
            for direction, payload in conv:
                f.write("%s %s\n" % (direction, payload.hex()))
    n = sum(len(c) for c in conversations)
    print("%s: %d connection(s), %d packets" % (path, len(conversations), n))


# ---------------------------------------------------------------- kazoo


def drive_kazoo(port, proxy):
    from kazoo.client import KazooClient, KazooState
    from kazoo.protocol import serialization as ser
    from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE, Permissions, ACL, Id

    events = []
    fired = threading.Event()

    def watch(event):
        events.append(event)
        fired.set()

    def wait_fired():
        assert fired.wait(10), "watch did not fire"
        fired.clear()

    # kazoo 2.8 has no container or TTL create: send the records by hand
    # through its request queue (Create2's reply is path + stat).
    class CreateContainer(ser.Create2):
        type = 19

    class CreateTTL(ser.Create2):
        type = 21

        def __new__(cls, path, data, acl, flags, ttl):
            self = super().__new__(cls, path, data, acl, flags)
            self.ttl = ttl
            return self

        def serialize(self):
            return super().serialize() + struct.pack(">q", self.ttl)

    def call(request):
        result = zk.handler.async_result()
        zk._call(request, result)
        return result.get(timeout=10)

    zk = KazooClient(hosts="127.0.0.1:%d" % port, timeout=4.0)
    zk.start(timeout=15)
    zk.create("/k", b"root")
    zk.create("/k/eph", b"ephemeral", ephemeral=True)
    zk.create("/k/seq-", b"", sequence=True)
    zk.create("/k/eseq-", b"x", ephemeral=True, sequence=True)
    zk.create("/k/c2", b"with stat", include_data=True)
    zk.create("/k/deep/er", b"", makepath=True)
    call(CreateContainer("/k/container", b"c", OPEN_ACL_UNSAFE, 4))
    call(CreateTTL("/k/ttl", b"t", OPEN_ACL_UNSAFE, 5, 60000))
    call(CreateTTL("/k/ttlseq-", b"", OPEN_ACL_UNSAFE, 6, 60000))

    # Watches that fire: data changed, created, children changed, deleted.
    zk.get("/k", watch=watch)
    zk.set("/k", b"root2")
    wait_fired()
    assert zk.exists("/k/new", watch=watch) is None
    zk.create("/k/new", b"")
    wait_fired()
    zk.get_children("/k", watch=watch)
    zk.get_children("/k", include_data=True)
    zk.create("/k/child2", b"")
    wait_fired()
    zk.exists("/k/new", watch=watch)
    zk.delete("/k/new")
    wait_fired()
    try:
        zk.get("/k/missing")
    except Exception:
        pass

    # ACLs with a digest identity.
    zk.add_auth("digest", "alice:secret")
    alice = make_digest_acl("alice", "secret", all=True)
    zk.create("/k/secure", b"s", acl=[alice])
    zk.get_acls("/k/secure")
    zk.set_acls("/k/secure", [alice, ACL(Permissions.READ, Id("world", "anyone"))])
    zk.get_acls("/k/secure")
    zk.create("/k/mine", b"", acl=[ACL(Permissions.ALL, Id("auth", ""))])

    # A transaction with a failing op, then one that succeeds.
    tx = zk.transaction()
    tx.create("/k/t1", b"1")
    tx.set_data("/k", b"tx")
    tx.check("/k", 999)
    tx.delete("/k/c2")
    tx.commit()
    _, stat = zk.get("/k")
    tx = zk.transaction()
    tx.create("/k/t2", b"2")
    tx.check("/k", stat.version)
    tx.set_data("/k", b"tx2", version=stat.version)
    tx.delete("/k/c2")
    tx.commit()

    zk.sync("/k")
    zk.exists("/k")
    time.sleep(2.5)  # idle: kazoo pings every ~1.3 s with a 4 s session

    # Cut the connection while watches are set: kazoo reconnects to the same
    # session and sends SetWatches (xid -8).
    zk.get("/k", watch=watch)
    zk.exists("/k/later", watch=watch)
    zk.get_children("/k/deep", watch=watch)
    lost, connected = threading.Event(), threading.Event()

    def listener(state):
        if state == KazooState.SUSPENDED:
            lost.set()
        elif state == KazooState.CONNECTED and lost.is_set():
            connected.set()

    zk.add_listener(listener)
    proxy.drop_all()
    assert lost.wait(10), "kazoo did not notice the cut"
    assert connected.wait(15), "kazoo did not reconnect"
    zk.set("/k", b"after reconnect")
    wait_fired()

    zk.delete("/k", recursive=True)
    zk.stop()
    zk.close()


# ---------------------------------------------------------------- zkCli


def digest(user_password):
    sha = hashlib.sha1(user_password.encode()).digest()
    return base64.b64encode(sha).decode()


ZKCLI_COMMANDS = [
    "create /x xdata",
    "create -e /x/eph e",
    "create -s /x/seq- s",
    "create -e -s /x/eseq- es",
    "create -c /x/container c",
    "create -t 60000 /x/ttl t",
    "create /x/child",
    "get -s /x",
    "get -w /x",
    "set /x newdata",
    "set -s /x newerdata",
    "stat /x",
    "stat -w /x/nothere",
    "create /x/nothere",
    "ls /x",
    "ls -s /x",
    "ls -w /x",
    "ls -R /x",
    "create /x/child2",
    "whoami",
    "addauth digest bob:pw",
    "whoami",
    "create /x/acl a digest:bob:%s:cdrwa" % digest("bob:pw"),
    "getAcl /x/acl",
    "setAcl /x/acl auth::cdrwa,world:anyone:r",
    "getAcl -s /x/acl",
    "addWatch -m PERSISTENT_RECURSIVE /x",
    "create /x/child/grandchild g",
    "set /x/child/grandchild g2",
    "addWatch /x/child",
    "get -w /x",
    "stat -w /x/later",
    "<drop>",  # the proxy cuts the connection: reconnect, auth again, SetWatches2
    "delete /x/child/grandchild",
    "getEphemerals",
    "getEphemerals /x",
    "getAllChildrenNumber /",
    "getAllChildrenNumber /x",
    "get -w /x/child2",
    "removewatches /x/child2",
    "ls -w /x/child",
    "removewatches /x/child -c",
    "sync /x",
    "config",
    "version",
    "get /nonexistent",
    "delete /x/child2",
    "deleteall /x",
    "quit",
]


def drive_zkcli(port, proxy):
    env = dict(os.environ, ZOO_LOG4J_PROP="ERROR,CONSOLE", CLIENT_JVMFLAGS="-Dzookeeper.sasl.client=false")
    proc = subprocess.Popen(
        [ZKCLI, "-timeout", "4000", "-server", "127.0.0.1:%d" % port],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = []
    threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True).start()
    time.sleep(4)  # JVM start and connect
    for i, cmd in enumerate(ZKCLI_COMMANDS):
        if cmd == "<drop>":
            proxy.drop_all()
            time.sleep(3)  # the Java client waits up to 1 s, then reconnects
            continue
        proc.stdin.write((cmd + "\n").encode())
        proc.stdin.flush()
        time.sleep(0.4)
        if i == 10:
            time.sleep(2.5)  # idle: the Java client pings every ~1.3 s
    proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    time.sleep(0.5)
    text = out[0].decode(errors="replace") if out else ""
    with open(os.path.join(tempfile.gettempdir(), "zk_capture_zkcli.log"), "w") as f:
        f.write(text)


# ---------------------------------------------------------------- C client


class Id_(ctypes.Structure):
    _fields_ = [("scheme", ctypes.c_char_p), ("id", ctypes.c_char_p)]


class ACL_(ctypes.Structure):
    _fields_ = [("perms", ctypes.c_int32), ("id", Id_)]


class ACLVector(ctypes.Structure):
    _fields_ = [("count", ctypes.c_int32), ("data", ctypes.POINTER(ACL_))]


class StringVector(ctypes.Structure):
    _fields_ = [("count", ctypes.c_int32), ("data", ctypes.POINTER(ctypes.c_char_p))]


class Stat_(ctypes.Structure):
    _fields_ = [("czxid", ctypes.c_int64), ("mzxid", ctypes.c_int64), ("ctime", ctypes.c_int64),
                ("mtime", ctypes.c_int64), ("version", ctypes.c_int32), ("cversion", ctypes.c_int32),
                ("aversion", ctypes.c_int32), ("ephemeralOwner", ctypes.c_int64),
                ("dataLength", ctypes.c_int32), ("numChildren", ctypes.c_int32), ("pzxid", ctypes.c_int64)]


WATCHER_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
VOID_COMPLETION = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p)


def find_libzookeeper():
    for path in sorted(glob.glob("/usr/lib/x86_64-linux-gnu/libzookeeper_mt.so*")):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def drive_c_client(lib, port, proxy):
    lib.zookeeper_init.restype = ctypes.c_void_p
    lib.zookeeper_init.argtypes = [ctypes.c_char_p, WATCHER_FN, ctypes.c_int, ctypes.c_void_p,
                                   ctypes.c_void_p, ctypes.c_int]
    lib.zoo_set_debug_level.argtypes = [ctypes.c_int]
    lib.zoo_set_debug_level(1)  # errors only
    lib.zoo_state.argtypes = [ctypes.c_void_p]
    lib.zoo_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                               ctypes.POINTER(ACLVector), ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.zoo_create2_ttl.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.POINTER(ACLVector), ctypes.c_int, ctypes.c_int64,
                                    ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(Stat_)]
    lib.zoo_wget.argtypes = [ctypes.c_void_p, ctypes.c_char_p, WATCHER_FN, ctypes.c_void_p,
                             ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(Stat_)]
    lib.zoo_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.zoo_exists.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(Stat_)]
    lib.zoo_get_children2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                      ctypes.POINTER(StringVector), ctypes.POINTER(Stat_)]
    lib.zoo_wget_children.argtypes = [ctypes.c_void_p, ctypes.c_char_p, WATCHER_FN, ctypes.c_void_p,
                                      ctypes.POINTER(StringVector)]
    lib.zoo_get_acl.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ACLVector),
                                ctypes.POINTER(Stat_)]
    lib.zoo_set_acl.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ACLVector)]
    lib.zoo_add_auth.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                 VOID_COMPLETION, ctypes.c_void_p]
    lib.zoo_remove_watches.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, WATCHER_FN,
                                       ctypes.c_void_p, ctypes.c_int]
    lib.zoo_delete.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.zookeeper_close.argtypes = [ctypes.c_void_p]

    fired = threading.Event()

    @WATCHER_FN
    def global_watcher(zh, type_, state, path, ctx):
        pass

    @WATCHER_FN
    def node_watcher(zh, type_, state, path, ctx):
        fired.set()

    auth_done = threading.Event()

    @VOID_COMPLETION
    def on_auth(rc, data):
        auth_done.set()

    def ok(rc, what):
        if rc != 0:
            raise RuntimeError("C client: %s failed with %d" % (what, rc))

    open_acl = ACLVector.in_dll(lib, "ZOO_OPEN_ACL_UNSAFE")
    creator_acl = ACLVector.in_dll(lib, "ZOO_CREATOR_ALL_ACL")
    zh = lib.zookeeper_init(("127.0.0.1:%d" % port).encode(), global_watcher, 4000, None, None, 0)
    assert zh, "zookeeper_init failed"
    deadline = time.time() + 15
    while lib.zoo_state(zh) != 3 and time.time() < deadline:  # ZOO_CONNECTED_STATE
        time.sleep(0.05)
    assert lib.zoo_state(zh) == 3, "C client did not connect"

    buf = ctypes.create_string_buffer(256)
    stat = Stat_()
    ok(lib.zoo_create(zh, b"/c", b"cdata", 5, ctypes.byref(open_acl), 0, buf, 256), "create /c")
    ok(lib.zoo_create(zh, b"/c/eseq-", b"", 0, ctypes.byref(open_acl), 3, buf, 256), "create eseq")
    ok(lib.zoo_create(zh, b"/c/nulldata", None, -1, ctypes.byref(open_acl), 0, buf, 256), "create null")
    ok(lib.zoo_create2_ttl(zh, b"/c/ttl", b"t", 1, ctypes.byref(open_acl), 5, 30000, buf, 256,
                           ctypes.byref(stat)), "create ttl")
    ok(lib.zoo_create(zh, b"/c/container", b"", 0, ctypes.byref(open_acl), 4, buf, 256), "create container")

    n = ctypes.c_int(256)
    ok(lib.zoo_wget(zh, b"/c", node_watcher, None, buf, ctypes.byref(n), ctypes.byref(stat)), "wget")
    ok(lib.zoo_set(zh, b"/c", b"cdata2", 6, -1), "set")
    assert fired.wait(10), "C watch did not fire"
    fired.clear()
    n = ctypes.c_int(256)
    ok(lib.zoo_wget(zh, b"/c/nulldata", node_watcher, None, buf, ctypes.byref(n), ctypes.byref(stat)),
       "get null")
    lib.zoo_exists(zh, b"/c/none", 1, ctypes.byref(stat))
    children = StringVector()
    ok(lib.zoo_get_children2(zh, b"/c", 0, ctypes.byref(children), ctypes.byref(stat)), "children2")
    ok(lib.zoo_wget_children(zh, b"/c", node_watcher, None, ctypes.byref(children)), "wget_children")
    ok(lib.zoo_create(zh, b"/c/kid", b"k", 1, ctypes.byref(open_acl), 0, buf, 256), "create kid")
    assert fired.wait(10), "C child watch did not fire"
    fired.clear()

    lib.zoo_add_auth(zh, b"digest", b"carol:pw", 8, on_auth, None)
    assert auth_done.wait(10), "C add_auth did not complete"
    ok(lib.zoo_create(zh, b"/c/mine", b"m", 1, ctypes.byref(creator_acl), 0, buf, 256), "create mine")
    acl = ACLVector()
    ok(lib.zoo_get_acl(zh, b"/c/mine", ctypes.byref(acl), ctypes.byref(stat)), "get_acl")
    ok(lib.zoo_set_acl(zh, b"/c/mine", -1, ctypes.byref(open_acl)), "set_acl")

    # Removing the data watch left on /c/nulldata.
    ok(lib.zoo_remove_watches(zh, b"/c/nulldata", 3, WATCHER_FN(), None, 0), "remove_watches")
    time.sleep(2.5)  # idle: the C client pings every recv_timeout/3

    # Cut the connection with the exists watch on /c/none set: the C client
    # reconnects to its session, sends its auth again and SetWatches.
    proxy.drop_all()
    time.sleep(0.5)
    deadline = time.time() + 15
    while lib.zoo_state(zh) != 3 and time.time() < deadline:
        time.sleep(0.05)
    assert lib.zoo_state(zh) == 3, "C client did not reconnect"
    ok(lib.zoo_create(zh, b"/c/none", b"", 0, ctypes.byref(open_acl), 0, buf, 256), "create none")
    time.sleep(0.5)

    for path in (b"/c/none", b"/c/kid", b"/c/mine", b"/c/ttl", b"/c/container", b"/c/nulldata", b"/c/missing"):
        lib.zoo_delete(zh, path, -1)
    lib.zookeeper_close(zh)


# ---------------------------------------------------------------- main


def main():
    data = tempfile.mkdtemp(prefix="zk_capture_")
    zk_port = free_port()
    server = subprocess.Popen([ZK_SCRIPT, data, str(zk_port), "extendedTypesEnabled=true"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "server.err"), "w"))
    try:
        wait_for_server(zk_port)
        proxy = Proxy(zk_port)
        proxy_port = proxy.port

        drive_kazoo(proxy_port, proxy)
        time.sleep(0.5)
        write_capture("kazoo", proxy.take())

        drive_zkcli(proxy_port, proxy)
        write_capture("zkcli", proxy.take())

        lib = find_libzookeeper()
        if lib is None:
            print("libzookeeper_mt.so not installed: no C client capture")
        else:
            drive_c_client(lib, proxy_port, proxy)
            time.sleep(0.5)
            write_capture("c_client", proxy.take())
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
