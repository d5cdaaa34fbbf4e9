"""kazoo 2.8 (and, where kazoo lacks a call, the raw wire) against each server."""

import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (BadArgumentsError, BadVersionError, InvalidACLError,
                              NoAuthError, NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError,
                              RuntimeInconsistency, SessionExpiredError)
from kazoo.protocol.states import EventType, KazooState, KeeperState
from kazoo.recipe.barrier import Barrier, DoubleBarrier
from kazoo.recipe.counter import Counter
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock, Semaphore
from kazoo.recipe.queue import LockingQueue, Queue
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_digest_acl

import kazoo_ext as kx
import zkwire
from conftest import wait_until


def check_fresh_stat(st, data_len, owner=0):
    assert st.version == 0 and st.cversion == 0 and st.aversion == 0
    assert st.czxid == st.mzxid == st.pzxid > 0
    assert st.ctime == st.mtime > 0
    assert st.dataLength == data_len
    assert st.numChildren == 0
    assert st.ephemeralOwner == owner


# ---------------------------------------------------------------- CRUD + Stat
def test_crud_and_stat(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    p = base_path
    path, st = zk.create(p, b"v0", include_data=True)
    assert path == p
    check_fresh_stat(st, 2)
    data, st_get = zk.get(p)
    assert data == b"v0" and st_get == st
    assert zk.exists(p) == st
    assert zk.exists(p + "/missing") is None

    # setData: version+1, mzxid moves, czxid/ctime/pzxid stay
    st1 = zk.set(p, b"value-1", version=0)
    assert st1.version == 1 and st1.dataLength == 7
    assert st1.mzxid > st.mzxid and st1.czxid == st.czxid and st1.pzxid == st.pzxid
    assert st1.ctime == st.ctime and st1.mtime >= st.mtime
    with pytest.raises(BadVersionError):
        zk.set(p, b"x", version=0)
    st2 = zk.set(p, b"", version=-1)
    assert st2.version == 2 and st2.dataLength == 0 and st2.mzxid > st1.mzxid
    assert zk.get(p)[0] == b""

    # a child: parent cversion/numChildren/pzxid, not version/mzxid
    _, cst = zk.create(p + "/c1", b"c", include_data=True)
    check_fresh_stat(cst, 1)
    pst = zk.exists(p)
    assert pst.cversion == 1 and pst.numChildren == 1
    assert pst.pzxid == cst.czxid and pst.mzxid == st2.mzxid and pst.version == 2
    zk.create(p + "/c2")
    children, pst2 = zk.get_children(p, include_data=True)
    assert sorted(children) == ["c1", "c2"]
    assert pst2.cversion == 2 and pst2.numChildren == 2 and pst2.pzxid > pst.pzxid

    # errors
    with pytest.raises(NodeExistsError):
        zk.create(p + "/c1")
    with pytest.raises(NoNodeError):
        zk.create(p + "/nope/x")
    with pytest.raises(NotEmptyError):
        zk.delete(p)
    with pytest.raises(BadVersionError):
        zk.delete(p + "/c1", version=5)
    with pytest.raises(NoNodeError):
        zk.delete(p + "/nope")
    with pytest.raises(NoNodeError):
        zk.get(p + "/nope")
    with pytest.raises(NoNodeError):
        zk.set(p + "/nope", b"")
    with pytest.raises(NoNodeError):
        zk.get_children(p + "/nope")

    # delete: parent numChildren-1, pzxid = delete zxid, cversion as ZooKeeper
    zk.delete(p + "/c1", version=0)
    pst3 = zk.exists(p)
    assert pst3.numChildren == 1 and pst3.pzxid > pst2.pzxid
    assert pst3.cversion == pst2.cversion + 1   # reported: 2*stored - numChildren
    zk.delete(p, recursive=True)
    assert zk.exists(p) is None

    # makepath creates the parents
    zk.create(p + "/a/b/c", b"deep", makepath=True)
    assert zk.get(p + "/a/b/c")[0] == b"deep"
    assert zk.exists(p + "/a").numChildren == 1


def test_zxids_increase_across_clients(server, kazoo_factory, base_path):
    a, b = kazoo_factory(server), kazoo_factory(server)
    a.create(base_path)
    last = 0
    for i in range(10):
        c = a if i % 2 else b
        st = c.set(base_path, b"%d" % i)
        assert st.mzxid > last
        last = st.mzxid
        assert st.version == i + 1
    # the other client reads its own and the other's writes
    assert a.get(base_path)[0] == b"9" and b.get(base_path)[0] == b"9"


def test_data_sizes(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path)
    for n in (0, 1, 1000, 500 * 1024, 1000 * 1000):
        blob = bytes((i * 7) & 0xFF for i in range(n))
        zk.create("%s/n%d" % (base_path, n), blob)
        data, st = zk.get("%s/n%d" % (base_path, n))
        assert data == blob and st.dataLength == n


def test_sequential_naming(server, kazoo_factory, base_path):
    """The suffix is %010d of the parent's *stored* cversion (creates only).
    ZooKeeper reports cversion as 2*stored - numChildren
    (DataNode.copyStat), so a delete shows as cversion+1 but the next
    sequence number does not move."""
    zk = kazoo_factory(server)
    zk.create(base_path)
    names = [zk.create(base_path + "/q-", sequence=True) for _ in range(3)]
    assert names == ["%s/q-%010d" % (base_path, i) for i in range(3)]
    zk.create(base_path + "/plain")
    assert zk.exists(base_path).cversion == 4
    zk.delete(names[0])
    st = zk.exists(base_path)
    assert (st.cversion, st.numChildren) == (5, 3)          # 2*4 - 3
    name = zk.create(base_path + "/e-", ephemeral=True, sequence=True)
    assert name == "%s/e-%010d" % (base_path, 4)             # stored cversion 4
    assert zk.exists(name).ephemeralOwner == zk.client_id[0]
    zk.delete(base_path + "/plain")
    assert zk.exists(base_path).cversion == 7                # 2*5 - 3
    # a sequential node with an empty prefix: just the digits
    assert zk.create(base_path + "/", sequence=True) == "%s/%010d" % (base_path, 5)
    t = zk.transaction()
    t.create(base_path + "/x")
    t.delete(base_path + "/x")
    t.create(base_path + "/y-", sequence=True)
    assert t.commit() == [base_path + "/x", True, base_path + "/y-%010d" % 7]
    st = zk.exists(base_path)
    assert (st.cversion, st.numChildren) == (11, 5)          # 2*8 - 5
    # the initial /zookeeper node: stored cversion 0, two children
    assert zk.exists("/zookeeper").cversion == -2


def test_ephemerals_vanish_on_close(server, kazoo_factory, base_path):
    owner, watcher = kazoo_factory(server), kazoo_factory(server)
    watcher.create(base_path)
    p = base_path + "/eph"
    _, st = owner.create(p, b"x", ephemeral=True, include_data=True)
    assert st.ephemeralOwner == owner.client_id[0] != 0
    with pytest.raises(NoChildrenForEphemeralsError):
        owner.create(p + "/child")
    log = kx.EventLog()
    assert watcher.exists(p, watch=log) is not None
    child_log = kx.EventLog()
    assert watcher.get_children(base_path, watch=child_log) == ["eph"]
    owner.stop()
    owner.close()
    log.wait_for(1)
    child_log.wait_for(1)
    assert log.kinds() == [(EventType.DELETED, p)]
    assert child_log.kinds() == [(EventType.CHILD, base_path)]
    assert watcher.exists(p) is None
    assert watcher.exists(base_path).numChildren == 0


def test_get_ephemerals_and_all_children_number_raw(server, base_path):
    c = zkwire.connect(server.address)
    try:
        assert c.create(base_path)[0] == zkwire.OK
        assert c.create(base_path + "/a")[0] == zkwire.OK
        assert c.create(base_path + "/a/b", flags=zkwire.EPHEMERAL)[0] == zkwire.OK
        assert c.create(base_path + "/e", flags=zkwire.EPHEMERAL)[0] == zkwire.OK
        err, eph = c.get_ephemerals(base_path)
        assert err == zkwire.OK and sorted(eph) == [base_path + "/a/b", base_path + "/e"]
        err, n = c.get_all_children_number(base_path)
        assert err == zkwire.OK and n == 3
    finally:
        c.close_session()


# ---------------------------------------------------------------- containers, TTL
def test_container_nodes(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path)
    c = base_path + "/box"
    path, st = kx.create_container(zk, c, b"d")
    assert path == c
    # stored as Long.MIN_VALUE, but clients are shown 0 (DataNode.copyStat)
    assert st.ephemeralOwner == 0
    assert zk.exists(c).ephemeralOwner == 0
    never_used = base_path + "/never-used"
    kx.create_container(zk, never_used)
    zk.create(c + "/item")
    zk.delete(c + "/item")
    # The server's container manager removes it once it is empty again.
    wait_until(lambda: zk.exists(c) is None, 40, what="empty container removed")
    # a container that never had a child stays
    assert zk.exists(never_used) is not None


def test_ttl_nodes(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path)
    p = base_path + "/ttl"
    path, st = kx.create_ttl(zk, p, 500, b"t")
    assert path == p
    # stored as 0xff00..|ttl, but clients are shown 0 (DataNode.copyStat)
    assert st.ephemeralOwner == 0
    keep = base_path + "/ttl-with-child"
    kx.create_ttl(zk, keep, 500)
    zk.create(keep + "/c")
    path, st = kx.create_ttl(zk, base_path + "/s-", 600000, sequence=True)
    assert path == base_path + "/s-%010d" % 2
    with pytest.raises(BadArgumentsError):
        kx.create_ttl(zk, base_path + "/bad", 0)
    with pytest.raises(BadArgumentsError):
        kx.create_ttl(zk, base_path + "/bad", 1000, flags=0)  # ttl with a plain mode
    wait_until(lambda: zk.exists(p) is None, 40, what="TTL node removed")
    assert zk.exists(keep) is not None  # has a child


# ---------------------------------------------------------------- transactions
def test_transaction_success(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path, b"0")
    t = zk.transaction()
    t.create(base_path + "/a", b"a")
    t.create(base_path + "/s-", sequence=True)
    t.set_data(base_path, b"1", version=0)
    t.check(base_path + "/a", 0)
    t.delete(base_path + "/a")
    res = t.commit()
    assert res[0] == base_path + "/a"
    assert res[1] == base_path + "/s-%010d" % 1
    assert res[2].version == 1
    assert res[3] is True and res[4] is True
    st = zk.exists(base_path)
    assert st.numChildren == 1 and st.version == 1
    # all ops share one zxid
    assert st.mzxid == st.pzxid


def test_transaction_failure_rolls_back(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path, b"0")
    before = zk.exists(base_path)
    t = zk.transaction()
    t.create(base_path + "/a")
    t.set_data(base_path, b"x")
    t.check(base_path, 7)                   # fails: version is 0
    t.delete(base_path + "/a")
    res = t.commit()
    assert isinstance(res[0], RolledBackError)
    assert isinstance(res[1], RolledBackError)
    assert isinstance(res[2], BadVersionError)
    assert isinstance(res[3], RuntimeInconsistency)
    assert zk.exists(base_path + "/a") is None
    after = zk.exists(base_path)
    assert (after.version, after.cversion, after.numChildren, after.mzxid, after.pzxid) == \
        (before.version, before.cversion, before.numChildren, before.mzxid, before.pzxid)
    # later ops see the earlier ones
    t = zk.transaction()
    t.create(base_path + "/b")
    t.create(base_path + "/b/c")
    t.delete(base_path + "/b")             # not empty
    res = t.commit()
    assert [type(r) for r in res] == [RolledBackError, RolledBackError, NotEmptyError]
    assert zk.exists(base_path + "/b") is None


# ---------------------------------------------------------------- watches
def test_watches_fire_once(server, kazoo_factory, base_path):
    zk, other = kazoo_factory(server), kazoo_factory(server)
    zk.create(base_path, b"0")
    data_log, child_log, exist_log = kx.EventLog(), kx.EventLog(), kx.EventLog()
    zk.get(base_path, watch=data_log)
    zk.get_children(base_path, watch=child_log)
    zk.exists(base_path + "/new", watch=exist_log)
    other.set(base_path, b"1")
    other.set(base_path, b"2")          # no second event: the watch is spent
    other.create(base_path + "/new")
    other.create(base_path + "/new2")   # child watch already spent
    data_log.wait_for(1)
    child_log.wait_for(1)
    exist_log.wait_for(1)
    kx.drain_callbacks(zk)
    zk.sync("/")
    kx.drain_callbacks(zk)
    assert data_log.kinds() == [(EventType.CHANGED, base_path)]
    assert child_log.kinds() == [(EventType.CHILD, base_path)]
    assert exist_log.kinds() == [(EventType.CREATED, base_path + "/new")]
    assert data_log.events[0].state == KeeperState.CONNECTED

    # delete fires data and child watches of the node with DELETED
    d_log, c_log = kx.EventLog(), kx.EventLog()
    zk.get(base_path + "/new", watch=d_log)
    zk.get_children(base_path + "/new2", watch=c_log)
    other.delete(base_path + "/new")
    other.delete(base_path + "/new2")
    d_log.wait_for(1)
    c_log.wait_for(1)
    assert d_log.kinds() == [(EventType.DELETED, base_path + "/new")]
    assert c_log.kinds() == [(EventType.DELETED, base_path + "/new2")]


def test_watch_event_precedes_later_read(server, kazoo_factory, base_path):
    """A client sees the event of a watched node before data newer than it."""
    writer = kazoo_factory(server)
    writer.create(base_path, b"0")
    raw = zkwire.connect(server.address)
    try:
        for i in range(1, 21):
            err, data, _ = raw.get_data(base_path, watch=True)
            assert err == 0
            writer.set(base_path, b"%d" % i)
            err, data, _ = raw.get_data(base_path, watch=False)
            assert data == b"%d" % i
            # the event arrived on the wire before this reply
            assert [e.key() for e in raw.events] == [(zkwire.EV_DATA_CHANGED, base_path)], i
            raw.events.clear()
    finally:
        raw.close_session()

    # the same through kazoo: the callback was queued before the read returned
    reader = kazoo_factory(server)
    log = kx.EventLog()
    reader.get(base_path, watch=log)
    writer.set(base_path, b"final")
    wait_until(lambda: reader.get(base_path)[0] == b"final", 10, what="new data")
    kx.drain_callbacks(reader)
    assert log.kinds() == [(EventType.CHANGED, base_path)]


def test_watch_events_ordered_by_zxid(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path)
    for i in range(5):
        zk.create("%s/n%d" % (base_path, i))
    raw = zkwire.connect(server.address)
    try:
        for i in range(5):
            raw.get_data("%s/n%d" % (base_path, i), watch=True)
        for i in (3, 1, 4, 0, 2):
            zk.set("%s/n%d" % (base_path, i), b"x")
        evs = raw.wait_events(5)
        assert [e.path for e in evs] == ["%s/n%d" % (base_path, i) for i in (3, 1, 4, 0, 2)]
    finally:
        raw.close_session()


def test_persistent_watches_kazoo(server, kazoo_factory, base_path):
    if not hasattr(KazooClient, "add_watch"):
        pytest.skip("kazoo %s has no add_watch (added in 2.9); covered by the raw-wire "
                    "tests test_persistent_watch_raw*" % __import__("kazoo.version").version.__version__)
    zk = kazoo_factory(server)
    log = kx.EventLog()
    zk.add_watch(base_path, log, 0)
    zk.create(base_path)
    zk.set(base_path, b"1")
    log.wait_for(2)


def test_persistent_watch_raw(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    raw = zkwire.connect(server.address)
    try:
        assert raw.add_watch(base_path, zkwire.PERSISTENT_WATCH) == zkwire.OK
        zk.create(base_path)
        zk.set(base_path, b"1")
        zk.set(base_path, b"2")
        zk.create(base_path + "/c")
        zk.create(base_path + "/c/d")     # grandchild: not seen by a non-recursive watch
        zk.delete(base_path + "/c/d")
        zk.delete(base_path + "/c")
        zk.delete(base_path)
        zk.create(base_path)              # still armed after the delete
        evs = raw.wait_events(8)
        raw.ping()
        assert [e.key() for e in raw.events] == [
            (zkwire.EV_CREATED, base_path),
            (zkwire.EV_DATA_CHANGED, base_path),
            (zkwire.EV_DATA_CHANGED, base_path),
            (zkwire.EV_CHILDREN_CHANGED, base_path),
            (zkwire.EV_CHILDREN_CHANGED, base_path),
            (zkwire.EV_DELETED, base_path),
            (zkwire.EV_CREATED, base_path),
        ], evs
    finally:
        raw.close_session()


def test_persistent_recursive_watch_raw(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    raw = zkwire.connect(server.address)
    try:
        assert raw.add_watch(base_path, zkwire.PERSISTENT_RECURSIVE_WATCH) == zkwire.OK
        zk.create(base_path)
        zk.create(base_path + "/c")
        zk.create(base_path + "/c/d")
        zk.set(base_path + "/c/d", b"1")
        zk.delete(base_path + "/c/d")
        zk.create(base_path + "-sibling")   # not below the watched path
        zk.set(base_path, b"x")
        raw.wait_events(6)
        raw.ping()
        assert [e.key() for e in raw.events] == [
            (zkwire.EV_CREATED, base_path),
            (zkwire.EV_CREATED, base_path + "/c"),
            (zkwire.EV_CREATED, base_path + "/c/d"),
            (zkwire.EV_DATA_CHANGED, base_path + "/c/d"),
            (zkwire.EV_DELETED, base_path + "/c/d"),
            (zkwire.EV_DATA_CHANGED, base_path),
        ]
    finally:
        raw.close_session()


# ---------------------------------------------------------------- ACLs
def test_acls(server, kazoo_factory, base_path):
    owner, stranger = kazoo_factory(server), kazoo_factory(server)
    owner.add_auth("digest", "alice:secret")
    acl = make_digest_acl("alice", "secret", all=True)
    owner.create(base_path, b"private", acl=[acl])
    with pytest.raises(NoAuthError):
        stranger.get(base_path)
    with pytest.raises(NoAuthError):
        stranger.set(base_path, b"x")
    with pytest.raises(NoAuthError):
        stranger.create(base_path + "/c")
    with pytest.raises(NoAuthError):
        stranger.get_children(base_path)
    assert owner.get(base_path)[0] == b"private"
    acls, st = owner.get_acls(base_path)
    assert acls == [acl] and st.aversion == 0
    # the wrong password does not help; the right one does
    stranger.add_auth("digest", "alice:wrong")
    with pytest.raises(NoAuthError):
        stranger.get(base_path)
    stranger.add_auth("digest", "alice:secret")
    assert stranger.get(base_path)[0] == b"private"

    # world:anyone read-only
    ro = base_path + "-ro"
    owner.create(ro, b"r", acl=READ_ACL_UNSAFE)
    other = kazoo_factory(server)
    assert other.get(ro)[0] == b"r"
    with pytest.raises(NoAuthError):
        other.set(ro, b"w")
    with pytest.raises(NoAuthError):
        other.set_acls(ro, OPEN_ACL_UNSAFE)

    # setACL: aversion, version check
    st = owner.set_acls(base_path, OPEN_ACL_UNSAFE, version=0)
    assert st.aversion == 1
    with pytest.raises(BadVersionError):
        owner.set_acls(base_path, OPEN_ACL_UNSAFE, version=0)
    assert other.get(base_path)[0] == b"private"

    # invalid ACLs
    with pytest.raises(InvalidACLError):
        owner.create(base_path + "-bad1", acl=[ACL(31, Id("digest", "no-colon"))])
    with pytest.raises(InvalidACLError):
        owner.create(base_path + "-bad2", acl=[ACL(31, Id("nosuchscheme", "x"))])
    with pytest.raises(InvalidACLError):
        other.create(base_path + "-bad3", acl=[ACL(31, Id("auth", ""))])  # no auth added
    with pytest.raises(InvalidACLError):
        owner.create(base_path + "-bad4", acl=[ACL(31, Id("world", "someone"))])
    # "auth" expands to the session's digest ids
    owner.create(base_path + "-auth", acl=[ACL(31, Id("auth", ""))])
    acls, _ = owner.get_acls(base_path + "-auth")
    assert acls == [ACL(31, Id("digest", acl.id.id))]


def test_ip_acl(server, kazoo_factory, base_path):
    zk = kazoo_factory(server)
    zk.create(base_path, acl=[ACL(31, Id("ip", "127.0.0.1"))])
    assert zk.get(base_path)[0] == b""
    zk.create(base_path + "-other", acl=[ACL(31, Id("ip", "10.1.2.0/24")),
                                         ACL(1, Id("world", "anyone"))])
    with pytest.raises(NoAuthError):
        zk.set(base_path + "-other", b"x")


# ---------------------------------------------------------------- sessions
def test_close_deletes_ephemerals_at_once(server, kazoo_factory, base_path):
    a, observer = kazoo_factory(server), kazoo_factory(server)
    observer.create(base_path)
    a.create(base_path + "/e", ephemeral=True)
    log = kx.EventLog()
    observer.exists(base_path + "/e", watch=log)
    t0 = time.monotonic()
    a.stop()              # kazoo's stop sends closeSession
    log.wait_for(1, timeout=3)
    assert time.monotonic() - t0 < 3


@pytest.mark.timeout_s(90)
def test_session_expiry_without_close(server, kazoo_factory, base_path):
    observer = kazoo_factory(server)
    observer.create(base_path)
    # A session whose client vanishes without closeSession.
    raw = zkwire.connect(server.address, session_timeout_ms=4000)
    sid, passwd = raw.session.session_id, raw.session.passwd
    assert raw.session.timeout_ms == 4000
    assert raw.create(base_path + "/e", flags=zkwire.EPHEMERAL)[0] == 0
    raw.close()                                   # socket only
    assert observer.exists(base_path + "/e").ephemeralOwner == sid

    # Within the timeout the session can be resumed by another connection.
    states = kx.StateLog()
    resumed = kazoo_factory(server, client_id=(sid, passwd), timeout=4, start=False)
    resumed.add_listener(states)
    resumed.start(timeout=15)
    assert resumed.client_id[0] == sid
    assert resumed.exists(base_path + "/e").ephemeralOwner == sid
    # kazoo's stop() closes the session: the ephemeral goes at once.
    resumed.stop()
    wait_until(lambda: observer.exists(base_path + "/e") is None, 3, what="ephemeral gone")

    # Now let a session expire.
    raw = zkwire.connect(server.address, session_timeout_ms=4000)
    sid, passwd = raw.session.session_id, raw.session.passwd
    raw.create(base_path + "/f", flags=zkwire.EPHEMERAL)
    log = kx.EventLog()
    observer.exists(base_path + "/f", watch=log)
    t0 = time.monotonic()
    raw.close()
    log.wait_for(1, timeout=20)
    elapsed = time.monotonic() - t0
    assert log.kinds() == [(EventType.DELETED, base_path + "/f")]
    assert 2.0 < elapsed < 15, elapsed
    # Resuming the expired session is refused.
    late = zkwire.RawClient(server.host, server.port)
    resp = late.handshake(session_id=sid, passwd=passwd, timeout_ms=4000)
    assert resp.session_id == 0 and resp.timeout_ms == 0
    assert late.wait_closed(5)[0]
    late.close()
    # kazoo, given the expired id, ends up with a new session.
    zk = kazoo_factory(server, client_id=(sid, passwd), start=False)
    zk.start(timeout=15)
    wait_until(lambda: zk.connected and zk.client_id[0] not in (None, sid), 15,
               what="a new session")


def test_negotiated_session_timeout(server):
    for asked, lo, hi in ((1000, 4000, 4000), (10000, 10000, 10000), (10 ** 7, 40000, 40000)):
        c = zkwire.connect(server.address, session_timeout_ms=asked)
        try:
            assert lo <= c.session.timeout_ms <= hi, (asked, c.session)
            assert len(c.session.passwd) == 16
        finally:
            c.close_session()


@pytest.mark.timeout_s(90)
def test_reconnect_after_sigstop(fresh_server, kazoo_factory, base_path):
    zk = kazoo_factory(fresh_server, timeout=15)
    states = kx.StateLog()
    zk.add_listener(states)
    zk.create(base_path, b"before")
    zk.create(base_path + "/e", ephemeral=True)
    sid = zk.client_id[0]
    fresh_server.pause()
    try:
        states.wait_for(KazooState.SUSPENDED, 30)
    finally:
        fresh_server.resume()
    wait_until(lambda: states.states[-1] == KazooState.CONNECTED, 30, what="reconnected")
    assert KazooState.LOST not in states.states
    assert zk.client_id[0] == sid
    assert zk.get(base_path)[0] == b"before"
    assert zk.exists(base_path + "/e").ephemeralOwner == sid
    zk.set(base_path, b"after")
    assert zk.get(base_path)[0] == b"after"


@pytest.mark.timeout_s(120)
def test_durability_kill9_restart(fresh_server, kazoo_factory, base_path):
    zk = kazoo_factory(fresh_server)
    zk.create(base_path)
    stats = {}
    for i in range(50):
        p = "%s/n%02d" % (base_path, i)
        zk.create(p, b"v%d" % i)
        if i % 3 == 0:
            zk.set(p, b"w%d" % i)
        if i % 7 == 0:
            zk.set_acls(p, READ_ACL_UNSAFE)
    zk.delete("%s/n49" % base_path)
    for i in range(49):
        p = "%s/n%02d" % (base_path, i)
        stats[p] = zk.get(p)
    root_stat = zk.exists(base_path)
    zk.stop()
    fresh_server.restart()
    zk2 = kazoo_factory(fresh_server)
    for p, (data, st) in stats.items():
        d2, st2 = zk2.get(p)
        assert d2 == data and st2 == st, p
    assert zk2.exists(base_path) == root_stat
    assert zk2.exists("%s/n49" % base_path) is None
    # writes continue with larger zxids
    st = zk2.set("%s/n01" % base_path, b"new")
    assert st.mzxid > max(s.mzxid for _, s in stats.values())


# ---------------------------------------------------------------- recipes
def test_lock_contention_and_fairness(server, kazoo_factory, base_path):
    clients = [kazoo_factory(server) for _ in range(4)]
    locks = [Lock(c, base_path, identifier="c%d" % i) for i, c in enumerate(clients)]
    assert locks[0].acquire(timeout=10)
    assert not locks[1].acquire(blocking=False)
    order = []
    threads = []
    for i in (1, 2, 3):
        def run(i=i):
            assert locks[i].acquire(timeout=30)
            order.append(i)
            time.sleep(0.05)
            locks[i].release()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)
        # queue them in order: wait until this contender's node exists
        wait_until(lambda: len(locks[0].contenders()) == i + 1, 10, what="contender %d" % i)
    assert locks[0].contenders() == ["c0", "c1", "c2", "c3"]
    locks[0].release()
    for t in threads:
        t.join(30)
    assert order == [1, 2, 3]
    assert locks[0].contenders() == []


def test_election(server, kazoo_factory, base_path):
    a, b = kazoo_factory(server), kazoo_factory(server)
    leaders = []
    a_leading, a_stop = threading.Event(), threading.Event()
    b_leading = threading.Event()

    def lead_a():
        leaders.append("a")
        a_leading.set()
        a_stop.wait(30)

    def lead_b():
        leaders.append("b")
        b_leading.set()

    ea, eb = Election(a, base_path, "a"), Election(b, base_path, "b")
    ta = threading.Thread(target=ea.run, args=(lead_a,), daemon=True)
    ta.start()
    assert a_leading.wait(10)
    tb = threading.Thread(target=eb.run, args=(lead_b,), daemon=True)
    tb.start()
    wait_until(lambda: len(ea.contenders()) == 2, 10, what="b queued")
    assert ea.contenders() == ["a", "b"]
    assert not b_leading.is_set()
    a_stop.set()
    assert b_leading.wait(10)
    ta.join(10)
    tb.join(10)
    assert leaders == ["a", "b"]


def test_election_leader_session_dies(server, kazoo_factory, base_path):
    a, b = kazoo_factory(server), kazoo_factory(server)
    a_leading, b_leading = threading.Event(), threading.Event()
    ea, eb = Election(a, base_path, "a"), Election(b, base_path, "b")
    threading.Thread(target=ea.run, args=(lambda: (a_leading.set(), time.sleep(60)),),
                     daemon=True).start()
    assert a_leading.wait(10)
    threading.Thread(target=eb.run, args=(b_leading.set,), daemon=True).start()
    wait_until(lambda: len(eb.contenders()) == 2, 10, what="b queued")
    a.stop()          # leader's session closes; its ephemeral node goes
    assert b_leading.wait(10)


def test_barrier(server, kazoo_factory, base_path):
    a, b = kazoo_factory(server), kazoo_factory(server)
    barrier = Barrier(a, base_path)
    barrier.create()
    waiter = Barrier(b, base_path)
    assert waiter.wait(timeout=0.3) is False
    result = []
    t = threading.Thread(target=lambda: result.append(waiter.wait(timeout=20)), daemon=True)
    t.start()
    time.sleep(0.2)
    assert result == []
    barrier.remove()
    t.join(20)
    assert result == [True]


def test_double_barrier(server, kazoo_factory, base_path):
    clients = [kazoo_factory(server) for _ in range(3)]
    entered = []
    left = []
    lock = threading.Lock()

    def member(i):
        db = DoubleBarrier(clients[i], base_path, 3, identifier="m%d" % i)
        db.enter()
        with lock:
            entered.append((i, time.monotonic()))
        db.leave()
        with lock:
            left.append(i)

    threads = []
    for i in range(3):
        t = threading.Thread(target=member, args=(i,), daemon=True)
        threads.append(t)
        t.start()
        if i < 2:
            time.sleep(0.3)
            assert entered == []    # nobody passes until all three are in
    for t in threads:
        t.join(30)
    assert sorted(i for i, _ in entered) == [0, 1, 2]
    assert sorted(left) == [0, 1, 2]
    assert clients[0].get_children(base_path) == []


def test_queue(server, kazoo_factory, base_path):
    a, b = kazoo_factory(server), kazoo_factory(server)
    q = Queue(a, base_path)
    q.put(b"one")
    q.put(b"two")
    q.put(b"urgent", priority=1)
    q.put(b"three")
    assert len(q) == 4
    q2 = Queue(b, base_path)
    assert [q2.get() for _ in range(4)] == [b"urgent", b"one", b"two", b"three"]
    assert q2.get() is None


def test_locking_queue(server, kazoo_factory, base_path):
    a, b = kazoo_factory(server), kazoo_factory(server)
    qa, qb = LockingQueue(a, base_path), LockingQueue(b, base_path)
    qa.put_all([b"x", b"y"])
    assert qa.get(timeout=5) == b"x"
    assert qa.holds_lock()
    # b cannot take the same item; it gets the next one
    assert qb.get(timeout=5) == b"y"
    assert qb.release()              # b gives y back
    assert qa.consume()
    assert qb.get(timeout=5) == b"y"
    assert qb.consume()
    assert len(qa) == 0
    got = []
    t = threading.Thread(target=lambda: got.append(qb.get(timeout=20)), daemon=True)
    t.start()
    time.sleep(0.2)
    qa.put(b"late")
    t.join(20)
    assert got == [b"late"]


def test_counter_concurrent(server, kazoo_factory, base_path):
    clients = [kazoo_factory(server) for _ in range(4)]
    errors = []

    def work(c):
        counter = Counter(c, base_path)
        try:
            for _ in range(25):
                counter += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(50)
    assert errors == []
    assert Counter(clients[0], base_path).value == 100
    fc = Counter(clients[1], base_path + "-f", default=0.0)
    fc += 1.5
    fc -= 0.25
    assert fc.value == 1.25


def test_semaphore(server, kazoo_factory, base_path):
    clients = [kazoo_factory(server) for _ in range(3)]
    sems = [Semaphore(c, base_path, identifier="s%d" % i, max_leases=2)
            for i, c in enumerate(clients)]
    assert sems[0].acquire(timeout=5)
    assert sems[1].acquire(timeout=5)
    assert not sems[2].acquire(blocking=False)
    assert sorted(sems[2].lease_holders()) == ["s0", "s1"]
    got = threading.Event()

    def third():
        if sems[2].acquire(timeout=20):
            got.set()

    t = threading.Thread(target=third, daemon=True)
    t.start()
    time.sleep(0.2)
    assert not got.is_set()
    sems[0].release()
    assert got.wait(10)
    assert sorted(sems[1].lease_holders()) == ["s1", "s2"]
    sems[1].release()
    sems[2].release()
    t.join(5)
