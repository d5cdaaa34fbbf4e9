"""Requests kazoo 2.8 cannot send by itself (createContainer, createTTL),
sent through kazoo's own connection, plus small kazoo helpers."""

import threading
from collections import namedtuple

from kazoo.protocol.serialization import Create2, long_struct
from kazoo.protocol.states import Callback
from kazoo.security import OPEN_ACL_UNSAFE

CONTAINER_OWNER = -0x8000000000000000          # Long.MIN_VALUE
TTL_OWNER_BASE = -0x100000000000000            # 0xff00000000000000 as a signed long
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6


class CreateContainer(namedtuple("CreateContainer", "path data acl flags")):
    type = 19
    serialize = Create2.serialize
    deserialize = Create2.deserialize


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        b = Create2.serialize(self)
        b.extend(long_struct.pack(self.ttl))
        return b

    deserialize = Create2.deserialize


def _send(client, request, timeout=10):
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=timeout)


def create_container(client, path, value=b"", acl=None):
    """-> (path, ZnodeStat)"""
    return _send(client, CreateContainer(path, value, acl or OPEN_ACL_UNSAFE, CONTAINER))


def create_ttl(client, path, ttl_ms, value=b"", acl=None, sequence=False, flags=None):
    if flags is None:
        flags = PERSISTENT_SEQUENTIAL_WITH_TTL if sequence else PERSISTENT_WITH_TTL
    return _send(client, CreateTTL(path, value, acl or OPEN_ACL_UNSAFE, flags, ttl_ms))


def drain_callbacks(client, timeout=10):
    """Waits until kazoo's watch-callback thread has run everything queued so
    far (callbacks run FIFO on one thread)."""
    done = threading.Event()
    client.handler.dispatch_callback(Callback("watch", done.set, ()))
    if not done.wait(timeout):
        raise AssertionError("kazoo callback queue did not drain")


class EventLog:
    """A watcher function that records events; wait_for(n) blocks on a condition."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, n, timeout=10):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events) >= n, timeout)
        if not ok:
            raise AssertionError("expected %d events, got %r" % (n, self.events))
        return list(self.events)

    def kinds(self):
        return [(e.type, e.path) for e in self.events]


class StateLog:
    """A kazoo connection-state listener with waiting."""

    def __init__(self):
        self.states = []
        self.cond = threading.Condition()

    def __call__(self, state):
        with self.cond:
            self.states.append(state)
            self.cond.notify_all()

    def wait_for(self, state, timeout=30):
        with self.cond:
            ok = self.cond.wait_for(lambda: state in self.states, timeout)
        if not ok:
            raise AssertionError("state %s not seen within %ss; saw %r" % (state, timeout, self.states))
