"""Four-letter words: keeper's output must have the structure of ZooKeeper's,
which is captured live in the same test (monitoring tools parse these).

Both servers get the same tree, sessions and watches first, so counts that
do not depend on timing (watches, node counts, Mode) are compared too.
Set KEEPER_4LW_STRICT=1 to also require every `mntr` key ZooKeeper has.
"""

import os
import re

import pytest

from conftest import wait_until

CORE_MNTR_KEYS = [
    # the keys of ZooKeeper 3.4's mntr, which dashboards and check scripts use
    "zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
    "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections",
    "zk_outstanding_requests", "zk_server_state", "zk_znode_count",
    "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
    "zk_open_file_descriptor_count", "zk_max_file_descriptor_count",
]
SRVR_KEYS = ["Zookeeper version", "Latency min/avg/max", "Received", "Sent",
             "Connections", "Outstanding", "Zxid", "Mode", "Node count"]
CONS_LINE = re.compile(r"^ /(?P<ip>[0-9.]+):(?P<port>\d+)\[(?P<interest>\d+)\]\((?P<fields>.*)\)$")


@pytest.fixture(scope="module")
def prepared(server_pair):
    """The same state on both servers: nodes, an ephemeral, watches; one
    kazoo session each stays open during the module."""
    from kazoo.client import KazooClient
    clients = []
    for srv in server_pair:
        zk = KazooClient(hosts=srv.address, timeout=10)
        zk.start(timeout=15)
        zk.create("/fl", b"12345")
        for i in range(3):
            zk.create("/fl/c%d" % i, b"x" * i)
        zk.create("/fl/eph", ephemeral=True)
        zk.get("/fl", watch=lambda e: None)
        zk.get("/fl/c0", watch=lambda e: None)
        zk.get_children("/fl", watch=lambda e: None)
        zk.exists("/fl/none", watch=lambda e: None)
        clients.append(zk)
    yield server_pair
    for zk in clients:
        zk.stop()
        zk.close()


def both(prepared, word):
    ref, cand = prepared
    return ref.four_letter_word(word), cand.four_letter_word(word)


def colon_keys(text):
    out = {}
    for line in text.splitlines():
        if ": " in line and not line.startswith(" "):
            k, v = line.split(": ", 1)
            out[k] = v
    return out


def report_missing(word, ref_keys, cand_keys):
    missing = [k for k in ref_keys if k not in cand_keys]
    extra = [k for k in cand_keys if k not in ref_keys]
    if missing or extra:
        print("%s: candidate lacks %d keys ZooKeeper has: %s" % (word, len(missing), missing))
        print("%s: candidate has %d keys ZooKeeper lacks: %s" % (word, len(extra), extra))
    return missing


def test_ruok_isro(prepared):
    for word, want in (("ruok", "imok"), ("isro", "rw")):
        ref, cand = both(prepared, word)
        assert ref == want
        assert cand == ref, word


def test_srvr(prepared):
    ref, cand = both(prepared, "srvr")
    rk, ck = colon_keys(ref), colon_keys(cand)
    assert list(rk) == SRVR_KEYS
    report_missing("srvr", list(rk), list(ck))
    assert list(ck) == list(rk), "srvr keys/order:\n%s\n--- vs ---\n%s" % (cand, ref)
    assert re.fullmatch(r"\d+/[0-9.]+/\d+", ck["Latency min/avg/max"]), ck
    for k in ("Received", "Sent", "Connections", "Outstanding", "Node count"):
        assert re.fullmatch(r"\d+", ck[k]), (k, ck[k])
    assert re.fullmatch(r"0x[0-9a-f]+", ck["Zxid"]), ck["Zxid"]
    assert ck["Mode"] == rk["Mode"] == "standalone"
    assert ck["Node count"] == rk["Node count"], "node count (ZooKeeper counts its \"\" root alias)"
    assert cand.endswith("\n")


def test_stat(prepared):
    ref, cand = both(prepared, "stat")
    rk, ck = colon_keys(ref), colon_keys(cand)
    assert "Clients:" in ref.splitlines()
    assert "Clients:" in cand.splitlines(), cand
    report_missing("stat", list(rk), list(ck))
    assert list(ck) == list(rk)
    clients = [l for l in cand.splitlines() if l.startswith(" /")]
    assert clients, cand
    for line in clients:
        assert CONS_LINE.match(line), line


def _cons_fields(text):
    names = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        m = CONS_LINE.match(line)
        assert m, "bad cons line %r" % line
        for f in m.group("fields").split(","):
            names.add(f.split("=", 1)[0])
    return names


def test_cons(prepared):
    ref, cand = both(prepared, "cons")
    rf, cf = _cons_fields(ref), _cons_fields(cand)
    # an established session shows sid, lop, est, to, lcxid, lzxid, lresp, llat, ...
    assert {"queued", "recved", "sent", "sid", "to"} <= rf
    missing = report_missing("cons", sorted(rf), sorted(cf))
    assert not missing
    ref_sids = re.findall(r"sid=(0x[0-9a-f]+)", ref)
    cand_sids = re.findall(r"sid=(0x[0-9a-f]+)", cand)
    assert len(cand_sids) == len(ref_sids) == 1


def test_mntr(prepared):
    ref, cand = both(prepared, "mntr")

    def parse(text):
        out = {}
        for line in text.splitlines():
            assert "\t" in line, "mntr line without a tab: %r" % line
            k, v = line.split("\t", 1)
            assert k.startswith("zk_"), k
            assert k not in out, "duplicate key %s" % k
            out[k] = v
        return out

    rm, cm = parse(ref), parse(cand)
    missing = report_missing("mntr", list(rm), list(cm))
    lacking_core = [k for k in CORE_MNTR_KEYS if k not in cm]
    assert not lacking_core, "mntr lacks core keys %s" % lacking_core
    if os.environ.get("KEEPER_4LW_STRICT"):
        assert not missing, "mntr lacks %d of ZooKeeper's keys: %s" % (len(missing), missing)
    numeric = re.compile(r"-?\d+(\.\d+)?")
    for k in CORE_MNTR_KEYS:
        if k not in ("zk_version", "zk_server_state"):
            assert numeric.fullmatch(cm[k]), (k, cm[k])
    assert cm["zk_server_state"] == rm["zk_server_state"] == "standalone"
    for k in ("zk_znode_count", "zk_ephemerals_count", "zk_watch_count"):
        assert cm[k] == rm[k], "%s: %s vs ZooKeeper %s" % (k, cm[k], rm[k])


def test_conf(prepared):
    ref, cand = both(prepared, "conf")

    def keys(text):
        out = {}
        for line in text.splitlines():
            assert "=" in line, line
            k, v = line.split("=", 1)
            out[k] = v
        return out

    rk, ck = keys(ref), keys(cand)
    missing = report_missing("conf", list(rk), list(ck))
    needed = ["clientPort", "dataDir", "dataLogDir", "tickTime", "maxClientCnxns",
              "minSessionTimeout", "maxSessionTimeout", "serverId"]
    assert not [k for k in needed if k not in ck], missing
    assert ck["clientPort"] == str(prepared[1].port)
    for k in ("tickTime", "minSessionTimeout", "maxSessionTimeout", "serverId"):
        assert ck[k] == rk[k], (k, ck[k], rk[k])


def test_wchs_wchc_wchp(prepared):
    ref, cand = both(prepared, "wchs")
    pat = re.compile(r"^(\d+) connections watching (\d+) paths\nTotal watches:(\d+)\n$")
    assert pat.match(ref), ref
    assert pat.match(cand), cand
    assert pat.match(cand).groups() == pat.match(ref).groups(), (cand, ref)
    for word in ("wchc", "wchp"):
        ref, cand = both(prepared, word)
        # same shape: unindented header lines, tab-indented entries
        shape = lambda t: [("\t" if l.startswith("\t") else "h") for l in t.splitlines() if l]
        assert shape(cand) == shape(ref), "%s:\n%s\n--- vs ZooKeeper ---\n%s" % (word, cand, ref)


def test_envi(prepared):
    ref, cand = both(prepared, "envi")
    assert ref.splitlines()[0] == "Environment:"
    assert cand.splitlines()[0] == "Environment:", cand

    def keys(text):
        return [l.split("=", 1)[0] for l in text.splitlines()[1:] if "=" in l]

    missing = report_missing("envi", keys(ref), keys(cand))
    needed = ["zookeeper.version", "host.name", "os.name", "os.arch", "os.version",
              "user.name", "user.home", "user.dir"]
    assert not [k for k in needed if k not in keys(cand)], missing


def test_counts_follow_activity(prepared):
    """Received/Sent/Connections move like ZooKeeper's when a client talks."""
    import zkwire
    for srv in prepared:
        before = colon_keys(srv.four_letter_word("srvr"))
        c = zkwire.connect(srv.address)
        for _ in range(5):
            c.exists("/fl")
        during = colon_keys(srv.four_letter_word("srvr"))
        assert int(during["Received"]) >= int(before["Received"]) + 6, (srv.kind, before, during)
        assert int(during["Connections"]) >= 2
        c.close_session()
        wait_until(lambda: colon_keys(srv.four_letter_word("srvr"))["Connections"] == before["Connections"],
                   10, what="%s connection count back" % srv.kind)


def test_unknown_word_closes(prepared):
    ref, cand = both(prepared, "xyzw")
    assert ref == ""
    assert cand == ""
    for srv in prepared:
        assert srv.four_letter_word("ruok") == "imok"
