"""A small, blocking ZooKeeper 3.8 wire client for tests (jute by hand).

Written for these tests only: it speaks enough of the protocol to do the
handshake, send any request (including ones kazoo 2.8 lacks: createContainer,
createTTL, addWatch, getEphemerals, getAllChildrenNumber, whoAmI), read
replies and watch events, and to send deliberately broken bytes.
"""

import socket
import struct
import time

# Opcodes (ZooDefs.OpCode).
OP_NOTIFICATION = 0
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_ACL = 6
OP_SET_ACL = 7
OP_GET_CHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GET_CHILDREN2 = 12
OP_CHECK = 13
OP_MULTI = 14
OP_CREATE2 = 15
OP_CREATE_CONTAINER = 19
OP_CREATE_TTL = 21
OP_MULTI_READ = 22
OP_AUTH = 100
OP_SET_WATCHES = 101
OP_GET_EPHEMERALS = 103
OP_GET_ALL_CHILDREN_NUMBER = 104
OP_ADD_WATCH = 106
OP_WHO_AM_I = 107
OP_CLOSE_SESSION = -11

# Error codes (KeeperException.Code).
OK = 0
SYSTEMERROR = -1
RUNTIMEINCONSISTENCY = -2
CONNECTIONLOSS = -4
MARSHALLINGERROR = -5
UNIMPLEMENTED = -6
BADARGUMENTS = -8
NONODE = -101
NOAUTH = -102
BADVERSION = -103
NOCHILDRENFOREPHEMERALS = -108
NODEEXISTS = -110
NOTEMPTY = -111
SESSIONEXPIRED = -112
INVALIDACL = -114

# Watcher.Event.EventType
EV_NONE = -1
EV_CREATED = 1
EV_DELETED = 2
EV_DATA_CHANGED = 3
EV_CHILDREN_CHANGED = 4

# CreateMode flags
PERSISTENT = 0
EPHEMERAL = 1
PERSISTENT_SEQUENTIAL = 2
EPHEMERAL_SEQUENTIAL = 3
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

# AddWatchMode
PERSISTENT_WATCH = 0
PERSISTENT_RECURSIVE_WATCH = 1

WORLD_ALL = [(31, "world", "anyone")]

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion",
               "aversion", "ephemeralOwner", "dataLength", "numChildren",
               "pzxid")
_STAT = struct.Struct("!qqqqiiiqiiq")


# ---------------------------------------------------------------- encoding
def enc_int(v):
    return struct.pack("!i", v)


def enc_long(v):
    return struct.pack("!q", v)


def enc_bool(v):
    return b"\x01" if v else b"\x00"


def enc_buffer(b):
    if b is None:
        return enc_int(-1)
    return enc_int(len(b)) + b


def enc_string(s):
    if s is None:
        return enc_int(-1)
    return enc_buffer(s.encode("utf-8"))


def enc_acls(acls):
    out = enc_int(len(acls))
    for perms, scheme, ident in acls:
        out += enc_int(perms) + enc_string(scheme) + enc_string(ident)
    return out


def frame(payload):
    return enc_int(len(payload)) + payload


def connect_request(session_id=0, passwd=b"\x00" * 16, timeout_ms=10000,
                    last_zxid=0, read_only=False):
    body = (enc_int(0) + enc_long(last_zxid) + enc_int(timeout_ms) +
            enc_long(session_id) + enc_buffer(passwd) + enc_bool(read_only))
    return frame(body)


# ---------------------------------------------------------------- decoding
class Reader:
    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("short record")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack("!i", self.take(4))[0]

    def long(self):
        return struct.unpack("!q", self.take(8))[0]

    def bool(self):
        return self.take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        return None if n < 0 else self.take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def stat(self):
        return dict(zip(STAT_FIELDS, _STAT.unpack(self.take(_STAT.size))))

    def strings(self):
        n = self.int()
        return [self.string() for _ in range(max(n, 0))]

    def acls(self):
        n = self.int()
        return [(self.int(), self.string(), self.string()) for _ in range(max(n, 0))]

    def rest(self):
        return self.data[self.pos:]


class ConnectResponse:
    def __init__(self, data):
        r = Reader(data)
        self.protocol_version = r.int()
        self.timeout_ms = r.int()
        self.session_id = r.long()
        self.passwd = r.buffer()
        self.read_only = r.bool() if r.pos < len(data) else None

    def __repr__(self):
        return ("ConnectResponse(proto=%d timeout=%d session=0x%x passwd=%r)" %
                (self.protocol_version, self.timeout_ms, self.session_id,
                 self.passwd))


class Reply:
    def __init__(self, xid, zxid, err, body):
        self.xid, self.zxid, self.err, self.body = xid, zxid, err, body

    def reader(self):
        return Reader(self.body)

    def __repr__(self):
        return "Reply(xid=%d zxid=0x%x err=%d body=%d bytes)" % (
            self.xid, self.zxid, self.err, len(self.body))


class Event:
    def __init__(self, type_, state, path):
        self.type, self.state, self.path = type_, state, path

    def __repr__(self):
        return "Event(type=%d state=%d path=%r)" % (self.type, self.state, self.path)

    def key(self):
        return (self.type, self.path)


class Closed(Exception):
    """The server closed the connection."""


# ---------------------------------------------------------------- client
class RawClient:
    """One connection; recv() returns whole frames. Not thread-safe."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.xid = 0
        self.events = []
        self.session = None

    # -- raw I/O
    def send(self, data):
        # A server may close as soon as it reads an oversized length (as
        # ZooKeeper does): a client still writing the body sees EPIPE or a
        # reset, which is the same outcome as the EOF a reader would see.
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!i", self.buf[:4])[0]
                if n < 0:
                    raise ValueError("negative frame length %d" % n)
                if len(self.buf) >= 4 + n:
                    f = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame within timeout")
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError as e:
                raise Closed(str(e))
            if not d:
                raise Closed("EOF (%d unread bytes)" % len(self.buf))
            self.buf += d

    def wait_closed(self, timeout=None):
        """True if the server closes the connection within timeout (frames
        that arrive meanwhile are returned in a list as second value)."""
        frames = []
        try:
            while True:
                frames.append(self.recv_frame(timeout))
        except Closed:
            return True, frames
        except socket.timeout:
            return False, frames

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- session
    def handshake(self, session_id=0, passwd=b"\x00" * 16, timeout_ms=10000,
                  last_zxid=0):
        self.send(connect_request(session_id, passwd, timeout_ms, last_zxid))
        self.session = ConnectResponse(self.recv_frame())
        return self.session

    def request(self, op, body=b"", xid=None):
        """Sends one request, returns the matching Reply; watch events that
        arrive before it are queued in self.events."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(frame(enc_int(xid) + enc_int(op) + body))
        return self.read_reply(xid)

    def read_reply(self, xid=None, timeout=None):
        while True:
            f = self.recv_frame(timeout)
            r = Reader(f)
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:  # notification
                self.events.append(Event(r.int(), r.int(), r.string()))
                continue
            if rxid == -2:  # ping reply
                if xid == -2:
                    return Reply(rxid, zxid, err, r.rest())
                continue
            if xid is not None and rxid != xid:
                raise AssertionError("reply xid %d, expected %d" % (rxid, xid))
            return Reply(rxid, zxid, err, r.rest())

    def wait_events(self, n, timeout=5.0):
        """Waits until at least n events are queued (pings keep it honest)."""
        deadline = time.monotonic() + timeout
        while len(self.events) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                f = self.recv_frame(min(left, 0.5))
            except socket.timeout:
                continue
            r = Reader(f)
            rxid, _zxid, _err = r.int(), r.long(), r.int()
            if rxid == -1:
                self.events.append(Event(r.int(), r.int(), r.string()))
        return list(self.events)

    def ping(self):
        return self.request(OP_PING, b"", xid=-2)

    def close_session(self):
        try:
            rep = self.request(OP_CLOSE_SESSION)
        except (Closed, OSError):
            rep = None
        self.close()
        return rep

    # -- typed helpers
    def create(self, path, data=b"", flags=PERSISTENT, acls=WORLD_ALL, op=OP_CREATE2,
               ttl=None):
        body = enc_string(path) + enc_buffer(data) + enc_acls(acls) + enc_int(flags)
        if op == OP_CREATE_TTL:
            body += enc_long(ttl if ttl is not None else -1)
        rep = self.request(op, body)
        if rep.err == OK:
            r = rep.reader()
            name = r.string()
            stat = r.stat() if op != OP_CREATE else None
            return rep.err, name, stat
        return rep.err, None, None

    def get_data(self, path, watch=False):
        rep = self.request(OP_GET_DATA, enc_string(path) + enc_bool(watch))
        if rep.err:
            return rep.err, None, None
        r = rep.reader()
        return rep.err, r.buffer(), r.stat()

    def exists(self, path, watch=False):
        rep = self.request(OP_EXISTS, enc_string(path) + enc_bool(watch))
        if rep.err:
            return rep.err, None
        return rep.err, rep.reader().stat()

    def set_data(self, path, data, version=-1):
        rep = self.request(OP_SET_DATA, enc_string(path) + enc_buffer(data) + enc_int(version))
        return rep.err, (rep.reader().stat() if rep.err == OK else None)

    def delete(self, path, version=-1):
        return self.request(OP_DELETE, enc_string(path) + enc_int(version)).err

    def get_children(self, path, watch=False):
        rep = self.request(OP_GET_CHILDREN2, enc_string(path) + enc_bool(watch))
        if rep.err:
            return rep.err, None, None
        r = rep.reader()
        return rep.err, r.strings(), r.stat()

    def add_watch(self, path, mode):
        return self.request(OP_ADD_WATCH, enc_string(path) + enc_int(mode)).err

    def get_ephemerals(self, prefix):
        rep = self.request(OP_GET_EPHEMERALS, enc_string(prefix))
        return rep.err, (rep.reader().strings() if rep.err == OK else None)

    def get_all_children_number(self, path):
        rep = self.request(OP_GET_ALL_CHILDREN_NUMBER, enc_string(path))
        return rep.err, (rep.reader().int() if rep.err == OK else None)

    def add_auth(self, scheme, auth):
        body = enc_int(0) + enc_string(scheme) + enc_buffer(auth)
        return self.request(OP_AUTH, body, xid=-4).err


def connect(address, timeout=10.0, session_timeout_ms=10000):
    host, port = address.rsplit(":", 1)
    c = RawClient(host, int(port), timeout)
    c.handshake(timeout_ms=session_timeout_ms)
    return c


def four_letter_word(address, word, timeout=10.0):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out.decode("utf-8", errors="replace")
            out += d
