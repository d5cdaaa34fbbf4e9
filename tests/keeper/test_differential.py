"""Differential tests: one deterministic script of operations runs against
ZooKeeper and against keeper (in the same test), and the recorded results
are compared entry by entry.

Normalization: ctime/mtime are dropped (only ctime == mtime is kept), zxids
are replaced by their rank among all zxids seen in the run (0 stays 0),
session ids by the name of the client that owns them, children lists are
sorted. Exceptions are recorded by class name, raw replies by error code.

Without keeper selected (KEEPER_TEST_SERVERS=zookeeper) the candidate is a
second ZooKeeper, which checks that the script itself is deterministic.
"""

import difflib
import os
import pprint

import pytest
from kazoo.exceptions import KazooException
from kazoo.protocol.states import ZnodeStat
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_digest_acl

import kazoo_ext as kx
import zkwire

# Times are dropped; zxids ranked; owner mapped.
_ZXID_FIELDS = ("czxid", "mzxid", "pzxid")


class Zxid:
    def __init__(self, v):
        self.v = v


class Owner:
    def __init__(self, v):
        self.v = v


class Recorder:
    """Runs steps against one server and keeps what came back."""

    def __init__(self, server, kazoo_factory):
        self.server = server
        self.kazoo_factory = kazoo_factory
        self.entries = []
        self.sessions = {}      # session id -> client name
        self.clients = {}
        self.raws = {}
        self.watch_logs = {}

    # -- clients
    def kazoo(self, name, **kw):
        c = self.kazoo_factory(self.server, **kw)
        self.clients[name] = c
        self.sessions[c.client_id[0]] = name
        return c

    def raw(self, name, **kw):
        r = zkwire.connect(self.server.address, **kw)
        self.raws[name] = r
        self.sessions[r.session.session_id] = name
        return r

    def close_raws(self):
        for r in self.raws.values():
            r.close()

    # -- recording
    def stat(self, st):
        if st is None:
            return None
        if isinstance(st, ZnodeStat):
            d = st._asdict()
        else:
            d = dict(st)
        out = {}
        for k in ("version", "cversion", "aversion", "dataLength", "numChildren"):
            out[k] = d[k]
        for k in _ZXID_FIELDS:
            out[k] = Zxid(d[k])
        out["ephemeralOwner"] = Owner(d["ephemeralOwner"])
        # Times have millisecond resolution: a set within the create's
        # millisecond keeps mtime == ctime. Compared: never modified ->
        # equal; modified -> not earlier.
        if d["mzxid"] == d["czxid"]:
            out["mtime"] = "==ctime" if d["mtime"] == d["ctime"] else "!=ctime"
        else:
            out["mtime"] = ">=ctime" if d["mtime"] >= d["ctime"] else "<ctime"
        return out

    def value(self, v):
        if isinstance(v, ZnodeStat):
            return self.stat(v)
        if isinstance(v, dict) and "czxid" in v:
            return self.stat(v)
        if isinstance(v, BaseException):
            return "!" + type(v).__name__
        if isinstance(v, ACL):
            return ("ACL", v.perms, v.id.scheme, v.id.id)
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        return v

    def do(self, label, fn, sort=False):
        try:
            r = fn()
            if sort and isinstance(r, list):
                r = sorted(r)
            out = self.value(r)
        except KazooException as e:
            out = "!" + type(e).__name__
        except zkwire.Closed:
            out = "!connection closed"
        self.entries.append((label, out))
        return out

    def note(self, label, value):
        self.entries.append((label, self.value(value)))

    # -- watches
    def watcher(self, name):
        log = self.watch_logs.setdefault(name, kx.EventLog())
        return log

    def checkpoint(self, label):
        """Makes every client's pending events visible, then records them."""
        for c in self.clients.values():
            if c.connected:
                c.sync("/")
                kx.drain_callbacks(c)
        for name in sorted(self.watch_logs):
            log = self.watch_logs[name]
            with log.cond:
                evs = [(e.type, e.path) for e in log.events]
                log.events.clear()
            self.entries.append(("%s: events of %s" % (label, name), evs))
        for name in sorted(self.raws):
            r = self.raws[name]
            try:
                r.ping()
            except (zkwire.Closed, OSError):
                continue
            self.entries.append(("%s: raw events of %s" % (label, name),
                                 [(e.type, e.path) for e in r.events]))
            r.events.clear()

    # -- normalization
    def normalized(self):
        zx = set()

        def collect(v):
            if isinstance(v, Zxid):
                zx.add(v.v)
            elif isinstance(v, dict):
                for x in v.values():
                    collect(x)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    collect(x)

        for _, out in self.entries:
            collect(out)
        rank = {z: i for i, z in enumerate(sorted(x for x in zx if x != 0), start=1)}
        rank[0] = 0

        def conv(v):
            if isinstance(v, Zxid):
                return "zxid#%d" % rank[v.v]
            if isinstance(v, Owner):
                if v.v == 0:
                    return 0
                return "session:" + self.sessions.get(v.v, "unknown(0x%x)" % (v.v & (2 ** 64 - 1)))
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            return v

        return [(label, conv(out)) for label, out in self.entries]


def _flat(v, prefix=""):
    """{"[1].cversion": 5, ...}: leaves of nested lists/dicts by path."""
    out = {}
    if isinstance(v, dict):
        for k in sorted(v):
            out.update(_flat(v[k], "%s.%s" % (prefix, k) if prefix else k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out.update(_flat(x, "%s[%d]" % (prefix, i)))
    else:
        out[prefix] = v
    return out


# Steps where keeper deliberately answers like newer ZooKeeper 3.8 releases
# rather than Debian's 3.8.0 anchor (docs/keeper.md, "Differences").
KNOWN_DIFFERENCES = {
    # 3.8.0 returns the Stat of a node the caller may not READ; later 3.8
    # releases (and keeper) check READ in exists and answer NOAUTH.
    "b exists": "exists checks READ (later 3.8 releases)",
}


def compare(ref, cand, ref_name, cand_name):
    a, b = ref.normalized(), cand.normalized()
    if cand_name != ref_name:
        a = [x for x in a if x[0] not in KNOWN_DIFFERENCES]
        b = [x for x in b if x[0] not in KNOWN_DIFFERENCES]
    fa = ["%s -> %s" % (l, pprint.pformat(v, width=200, sort_dicts=True)) for l, v in a]
    fb = ["%s -> %s" % (l, pprint.pformat(v, width=200, sort_dicts=True)) for l, v in b]
    if fa == fb:
        return
    lines = ["%s and %s differ:" % (ref_name, cand_name)]
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            lines.append("step %d %r" % (i, x[0]))
            if x[0] != y[0]:
                lines.append("   label differs: %r vs %r" % (x[0], y[0]))
            fx, fy = _flat(x[1]), _flat(y[1])
            if set(fx) == set(fy):
                for k in fx:
                    if fx[k] != fy[k]:
                        lines.append("   %-22s %s=%r  %s=%r" % (k or "value", ref_name, fx[k],
                                                              cand_name, fy[k]))
            else:
                lines.append("   %s: %r" % (ref_name, x[1]))
                lines.append("   %s: %r" % (cand_name, y[1]))
    if len(a) != len(b):
        lines.append("lengths differ: %d vs %d" % (len(a), len(b)))
    lines.append("unified diff:")
    lines.extend(difflib.unified_diff(fa, fb, ref_name, cand_name, lineterm="", n=1))
    pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture
def differential(server_pair, kazoo_factory):
    ref_srv, cand_srv = server_pair

    def run(script):
        recs = []
        for srv in (ref_srv, cand_srv):
            rec = Recorder(srv, kazoo_factory)
            try:
                script(rec)
            finally:
                rec.close_raws()
            recs.append(rec)
        dump = os.environ.get("KEEPER_DIFF_DUMP")   # a directory: transcripts go there
        if dump:
            for rec, side in zip(recs, ("ref", "cand")):
                name = "%s.%s.txt" % (os.environ.get("PYTEST_CURRENT_TEST", "t").split(" ")[0]
                                      .replace("/", "_").replace("::", "."), side)
                with open(os.path.join(dump, name), "w") as f:
                    for label, v in rec.normalized():
                        f.write("%s -> %s\n" % (label, pprint.pformat(v, width=200, sort_dicts=True)))
        compare(recs[0], recs[1], "zookeeper", cand_srv.kind + ("" if cand_srv.kind == "keeper" else "#2"))
        return recs

    return run


# ---------------------------------------------------------------- scripts
def test_crud_versions_and_errors(differential):
    def script(r):
        a = r.kazoo("a")
        b = r.kazoo("b")
        r.do("create /d", lambda: a.create("/d", b"root", include_data=True))
        r.do("create /d again", lambda: a.create("/d"))
        r.do("create /d/a", lambda: a.create("/d/a", b"a", include_data=True))
        r.do("create no parent", lambda: a.create("/d/x/y"))
        for i in range(3):
            r.do("create seq %d" % i, lambda: a.create("/d/s-", b"%d" % i, sequence=True, include_data=True))
        r.do("ephemeral seq by b", lambda: b.create("/d/e-", ephemeral=True, sequence=True, include_data=True))
        r.do("child of ephemeral", lambda: b.create("/d/e-0000000004/c"))
        r.do("get /d", lambda: a.get("/d"))
        r.do("children /d", lambda: a.get_children("/d"), sort=True)
        r.do("children2 /d", lambda: a.get_children("/d", include_data=True)[1])
        r.do("exists missing", lambda: a.exists("/d/none"))
        r.do("set v0", lambda: a.set("/d/a", b"a1", version=0))
        r.do("set v0 again", lambda: a.set("/d/a", b"a2", version=0))
        r.do("set any", lambda: a.set("/d/a", b"a3"))
        r.do("set missing", lambda: a.set("/d/none", b""))
        r.do("get /d/a", lambda: a.get("/d/a"))
        r.do("delete non-empty", lambda: a.delete("/d"))
        r.do("delete bad version", lambda: a.delete("/d/a", version=7))
        r.do("delete v2", lambda: a.delete("/d/a", version=2))
        r.do("delete missing", lambda: a.delete("/d/a"))
        r.do("stat after delete", lambda: a.exists("/d"))
        r.do("seq after delete", lambda: a.create("/d/s-", sequence=True))
        r.do("stat after seq", lambda: a.exists("/d"))
        r.do("get_acls /d", lambda: a.get_acls("/d"))
        r.do("zookeeper node", lambda: a.exists("/zookeeper"))
        r.do("zookeeper/config", lambda: a.get("/zookeeper/config"))
        r.do("zookeeper/config acl", lambda: a.get_acls("/zookeeper/config"))
        r.do("zookeeper/quota", lambda: a.exists("/zookeeper/quota"))
        r.do("children /zookeeper", lambda: a.get_children("/zookeeper"), sort=True)
        r.do("set /zookeeper/config", lambda: a.set("/zookeeper/config", b"x"))
        r.do("create /zookeeper/x", lambda: a.create("/zookeeper/x"))
        r.do("delete /zookeeper", lambda: a.delete("/zookeeper"))
        r.do("delete /zookeeper/quota", lambda: a.delete("/zookeeper/quota"))
        r.do("b closes", lambda: (b.stop(), None)[1])
        r.do("children after b closed", lambda: a.get_children("/d"), sort=True)
        r.do("stat after b closed", lambda: a.exists("/d"))
    differential(script)


def test_multi(differential):
    def script(r):
        a = r.kazoo("a")
        a.create("/m", b"0")

        def txn(*ops):
            t = a.transaction()
            for op, *args in ops:
                getattr(t, op)(*args)
            return t.commit()

        r.do("multi ok", lambda: txn(("create", "/m/a", b"a"), ("create", "/m/s-", b"", None, False, True),
                                     ("set_data", "/m", b"1", 0), ("check", "/m/a", 0),
                                     ("delete", "/m/a")))
        r.do("after ok", lambda: a.get("/m"))
        r.do("multi fails on check", lambda: txn(("create", "/m/b"), ("set_data", "/m", b"2"),
                                                  ("check", "/m", 42), ("delete", "/m/b")))
        r.do("multi fails on create", lambda: txn(("create", "/m/c"), ("create", "/m/c")))
        r.do("multi not empty", lambda: txn(("create", "/m/d"), ("create", "/m/d/e"), ("delete", "/m/d")))
        r.do("multi no node", lambda: txn(("delete", "/m/none"), ("create", "/m/f")))
        r.do("multi bad version", lambda: txn(("set_data", "/m", b"z", 99)))
        r.do("after failures", lambda: a.get("/m"))
        r.do("children after failures", lambda: a.get_children("/m"), sort=True)
        r.do("multi seq sees earlier ops", lambda: txn(("create", "/m/x"), ("delete", "/m/x"),
                                                         ("create", "/m/q-", b"", None, False, True)))
        r.do("final stat", lambda: a.exists("/m"))
    differential(script)


def test_acls(differential):
    def script(r):
        a = r.kazoo("a")
        b = r.kazoo("b")
        r.do("a auth", lambda: a.add_auth("digest", "alice:pw"))
        acl = make_digest_acl("alice", "pw", all=True)
        r.do("create private", lambda: a.create("/acl", b"p", acl=[acl], include_data=True))
        r.do("b get", lambda: b.get("/acl"))
        r.do("b set", lambda: b.set("/acl", b"x"))
        r.do("b children", lambda: b.get_children("/acl"))
        r.do("b exists", lambda: b.exists("/acl"))
        r.do("b create child", lambda: b.create("/acl/c"))
        r.do("b delete", lambda: b.delete("/acl"))
        r.do("b get_acls", lambda: b.get_acls("/acl"))
        r.do("a get_acls", lambda: a.get_acls("/acl"))
        r.do("a create child", lambda: a.create("/acl/c"))
        r.do("b delete child", lambda: b.delete("/acl/c"))
        r.do("a set_acls bad version", lambda: a.set_acls("/acl", READ_ACL_UNSAFE + [acl], version=3))
        r.do("a set_acls", lambda: a.set_acls("/acl", READ_ACL_UNSAFE + [acl], version=0))
        r.do("b get now", lambda: b.get("/acl"))
        r.do("b get_acls now", lambda: b.get_acls("/acl"))
        r.do("b set now", lambda: b.set("/acl", b"y"))
        r.do("invalid digest id", lambda: a.create("/bad", acl=[ACL(31, Id("digest", "nocolon"))]))
        r.do("invalid scheme", lambda: a.create("/bad", acl=[ACL(31, Id("kerberos", "x"))]))
        r.do("invalid world id", lambda: a.create("/bad", acl=[ACL(31, Id("world", "all"))]))
        r.do("invalid ip", lambda: a.create("/bad", acl=[ACL(31, Id("ip", "300.1.1.1"))]))
        r.do("auth without auth", lambda: b.create("/bad", acl=[ACL(31, Id("auth", ""))]))
        r.do("auth expands", lambda: a.create("/auth", acl=[ACL(31, Id("auth", ""))]))
        r.do("auth acl", lambda: a.get_acls("/auth"))
        r.do("setacl invalid before nonode", lambda: a.set_acls("/none", [ACL(31, Id("digest", "x"))]))
        r.do("setacl nonode", lambda: a.set_acls("/none", OPEN_ACL_UNSAFE))
        r.do("duplicate acl entries", lambda: a.create("/dup", acl=OPEN_ACL_UNSAFE + OPEN_ACL_UNSAFE))
        r.do("dup acl", lambda: a.get_acls("/dup"))
        r.do("b auth", lambda: b.add_auth("digest", "alice:pw"))
        r.do("b get after auth", lambda: b.get("/acl"))
        r.do("b ip acl", lambda: b.create("/ip", acl=[ACL(31, Id("ip", "127.0.0.0/8"))]))
        r.do("a ip read", lambda: a.get("/ip"))
    differential(script)


def test_invalid_paths_raw(differential):
    bad = ["a", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a/\u0001",
           "/a/\ufff5", "/a/\u007f", "/zookeeper/x", "//", "/a\u0000b"]

    def script(r):
        c = r.raw("raw")
        r.do("create /a", lambda: c.create("/a")[0])
        for p in bad:
            r.do("create %r" % p, lambda p=p: c.create(p)[0])
            r.do("create seq %r" % p, lambda p=p: c.create(p, flags=zkwire.PERSISTENT_SEQUENTIAL)[0])
            r.do("set %r" % p, lambda p=p: c.set_data(p, b"x")[0])
            r.do("get %r" % p, lambda p=p: c.get_data(p)[0])
            r.do("exists %r" % p, lambda p=p: c.exists(p)[0])
            r.do("delete %r" % p, lambda p=p: c.delete(p))
            r.do("children %r" % p, lambda p=p: c.get_children(p)[0])
        for p in ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"):
            r.do("delete %r" % p, lambda p=p: c.delete(p))
            r.do("create %r" % p, lambda p=p: c.create(p)[0])
        r.do("set /zookeeper", lambda: c.set_data("/zookeeper", b"x"))
        r.do("set /", lambda: c.set_data("/", b"root data"))
        r.do("get /", lambda: c.get_data("/")[:2])
        r.do("empty path create", lambda: c.create("")[0])
        r.do("null path create", lambda: c.create(None)[0])
        r.do("unknown create mode", lambda: c.create("/a/m", flags=42)[0])
        r.do("ttl mode via create2", lambda: c.create("/a/t", flags=zkwire.PERSISTENT_WITH_TTL)[0])
        r.do("container via create", lambda: c.create("/a/k", flags=zkwire.CONTAINER)[0])
        r.do("ttl 0", lambda: c.create("/a/t", flags=zkwire.PERSISTENT_WITH_TTL,
                                        op=zkwire.OP_CREATE_TTL, ttl=0)[0])
        r.do("ttl too big", lambda: c.create("/a/t", flags=zkwire.PERSISTENT_WITH_TTL,
                                              op=zkwire.OP_CREATE_TTL, ttl=2 ** 40)[0])
        r.do("ttl plain mode", lambda: c.create("/a/t", flags=zkwire.PERSISTENT,
                                                 op=zkwire.OP_CREATE_TTL, ttl=100)[0])
        r.do("ttl ok", lambda: c.create("/a/t", flags=zkwire.PERSISTENT_WITH_TTL,
                                         op=zkwire.OP_CREATE_TTL, ttl=100000))
        r.do("container ok", lambda: c.create("/a/k", flags=zkwire.CONTAINER,
                                               op=zkwire.OP_CREATE_CONTAINER))
        r.do("container wrong flags", lambda: c.create("/a/k2", flags=zkwire.PERSISTENT,
                                                        op=zkwire.OP_CREATE_CONTAINER)[0])
        r.do("create (op 1) response", lambda: c.create("/a/p", op=zkwire.OP_CREATE))
        r.do("ephemerals", lambda: c.get_ephemerals("/"))
        r.do("all children /a", lambda: c.get_all_children_number("/a"))
        r.do("all children missing", lambda: c.get_all_children_number("/nope"))
        r.do("unknown auth scheme", lambda: c.add_auth("nosuch", b"x"))
        r.do("closed after bad auth", lambda: c.wait_closed(3)[0])
    differential(script)


def test_large_data(differential):
    def script(r):
        c = r.raw("raw")
        r.do("create /big", lambda: c.create("/big")[0])
        r.do("1,000,000 bytes", lambda: c.create("/big/ok", b"x" * 1000000))
        r.do("read it back", lambda: len(c.get_data("/big/ok")[1]))
        big = r.raw("big")
        r.do("1 MiB + 1 bytes", lambda: big.create("/big/too", b"y" * (1024 * 1024 + 1))[0])
        r.do("connection closed", lambda: big.wait_closed(5)[0])
        r.do("not created", lambda: c.exists("/big/too")[0])
        d = r.raw("set")
        r.do("set 1 MiB + 1", lambda: d.set_data("/big/ok", b"z" * (1024 * 1024 + 1))[0])
        r.do("set connection closed", lambda: d.wait_closed(5)[0])
        r.do("data unchanged", lambda: c.get_data("/big/ok")[2])
    differential(script)


def test_watch_event_streams(differential):
    def script(r):
        a = r.kazoo("a")
        b = r.kazoo("b")
        data_w, child_w, exist_w, del_w = (r.watcher("data"), r.watcher("child"),
                                          r.watcher("exists"), r.watcher("delete"))
        a.create("/w", b"0")
        a.create("/w/x")
        r.do("arm data", lambda: b.get("/w", watch=data_w))
        r.do("arm child", lambda: b.get_children("/w", watch=child_w), sort=True)
        r.do("arm exists missing", lambda: b.exists("/w/y", watch=exist_w))
        r.do("arm delete (data on /w/x)", lambda: b.get("/w/x", watch=del_w))
        r.checkpoint("armed")
        r.do("set /w", lambda: a.set("/w", b"1"))
        r.checkpoint("after set")
        r.do("set /w again", lambda: a.set("/w", b"2"))
        r.checkpoint("after second set")
        r.do("create /w/y", lambda: a.create("/w/y"))
        r.checkpoint("after create")
        r.do("delete /w/x", lambda: a.delete("/w/x"))
        r.checkpoint("after delete")
        # exists on an existing node, then delete: NodeDeleted
        r.do("arm exists on /w/y", lambda: b.exists("/w/y", watch=exist_w))
        r.do("arm child on /w/y", lambda: b.get_children("/w/y", watch=child_w))
        r.do("delete /w/y", lambda: a.delete("/w/y"))
        r.checkpoint("after delete y")
        # a failed write fires nothing
        r.do("arm data again", lambda: b.get("/w", watch=data_w))
        r.do("failed set", lambda: a.set("/w", b"3", version=0))
        r.do("failed multi", lambda: (lambda t: (t.set_data("/w", b"4"), t.check("/w", 77), t.commit())[2])(a.transaction()))
        r.checkpoint("after failed writes")
        r.do("setACL fires nothing", lambda: a.set_acls("/w", OPEN_ACL_UNSAFE))
        r.checkpoint("after setACL")
        # a multi fires for each op, after it committed
        r.do("arm child again", lambda: b.get_children("/w", watch=child_w))
        r.do("multi create+set", lambda: (lambda t: (t.create("/w/m"), t.set_data("/w", b"5"), t.commit())[2])(a.transaction()))
        r.checkpoint("after multi")
        # the writer's own watch fires too
        own = r.watcher("own")
        r.do("a arms own", lambda: a.get("/w", watch=own))
        r.do("a sets", lambda: a.set("/w", b"6"))
        r.checkpoint("after own write")
        # persistent and recursive watches over the raw wire
        c = r.raw("persistent")
        d = r.raw("recursive")
        r.do("add persistent", lambda: c.add_watch("/w", zkwire.PERSISTENT_WATCH))
        r.do("add recursive", lambda: d.add_watch("/w", zkwire.PERSISTENT_RECURSIVE_WATCH))
        r.do("create /w/p", lambda: a.create("/w/p"))
        r.do("create /w/p/q", lambda: a.create("/w/p/q"))
        r.do("set /w/p/q", lambda: a.set("/w/p/q", b"q"))
        r.do("set /w", lambda: a.set("/w", b"7"))
        r.do("delete /w/p/q", lambda: a.delete("/w/p/q"))
        r.checkpoint("persistent")
        # session close removes ephemerals and fires watches
        r.do("b ephemeral", lambda: b.create("/w/eph", ephemeral=True))
        r.do("a watches eph", lambda: a.exists("/w/eph", watch=r.watcher("eph")))
        r.do("b closes", lambda: (b.stop(), None)[1])
        r.checkpoint("after close")
    differential(script)


def test_sequential_and_cversion(differential):
    def script(r):
        a = r.kazoo("a")
        a.create("/q")
        for i in range(4):
            r.do("seq %d" % i, lambda: a.create("/q/n-", sequence=True))
            if i % 2:
                r.do("delete last", lambda: a.delete("/q/n-%010d" % (i - 1)))
            r.do("stat %d" % i, lambda: a.exists("/q"))
        r.do("ephemeral seq", lambda: a.create("/q/e-", ephemeral=True, sequence=True))
        r.do("ttl seq", lambda: kx.create_ttl(a, "/q/t-", 60000, sequence=True))
        r.do("container", lambda: kx.create_container(a, "/q/c"))
        r.do("stat final", lambda: a.exists("/q"))
        r.do("children", lambda: a.get_children("/q"), sort=True)
        r.do("root stat numChildren", lambda: a.exists("/").numChildren > 0)
        r.do("setacl counts", lambda: a.set_acls("/q", OPEN_ACL_UNSAFE))
        r.do("set root", lambda: a.set("/", b"r"))
    differential(script)
