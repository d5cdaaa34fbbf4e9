"""A replicated keeper (3 `dougong keeper` processes on loopback, Raft) with
real third-party clients: kazoo and Apache's C client keep their session,
ephemeral nodes and watches when the member they are on goes away; the
membership changes at run time with `dougong keeper members`; an observer
serves reads and takes writes; four-letter words and /metrics show roles.
Keeper only (ZooKeeper ensembles are the anchor of bench/, not of these).
Faults with many processes and a linearizability checker: tests/lincheck."""

import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import Server, _tmp_root, free_port, wait_until
from test_c_client import _binary as c_client_binary


class Member(Server):
    """One member; its YAML names every member of the cluster."""

    def __init__(self, cluster, member_id, base_dir, observer=False):
        super().__init__("keeper", base_dir, admin_port=free_port())
        self.cluster = cluster
        self.id = member_id
        self.peer_port = free_port()
        self.observer = observer
        self.join = False

    @property
    def peer(self):
        return "127.0.0.1:%d" % self.peer_port

    def command(self):
        binary = os.environ.get("DOUGONG_BIN")
        if not binary:
            pytest.fail("DOUGONG_BIN is not set (path of the dougong binary)")
        cfg = self.base_dir / "keeper.yaml"
        lines = ["host: 127.0.0.1", "port: %d" % self.port, "admin_port: %d" % self.admin_port,
                 "data_dir: %s" % self.data_dir, "tick_ms: 500", "cluster:", "  id: %d" % self.id,
                 "  tick_ms: 50", "  election_ticks: 10", "  join: %s" % ("true" if self.join else "false"),
                 "  members:"]
        for m in self.cluster.members:
            if m.join and m is not self:
                continue  # not yet a member: the others learn of it when it is added
            lines.append('    - {id: %d, peer: "%s", client: "%s", role: %s}'
                         % (m.id, m.peer, m.address, "observer" if m.observer else "voter"))
        cfg.write_text("\n".join(lines) + "\n")
        return [binary, "keeper", "--config", str(cfg)]

    def launch(self):
        """Starts the process without waiting (a member serves once a leader exists)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.log_path = self.base_dir / ("server-%d.log" % self.starts)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)

    def mode(self):
        try:
            m = re.search(r"Mode: (\w+)", self.four_letter_word("srvr"))
        except OSError:
            return None
        return m.group(1) if m else None


class Cluster:
    def __init__(self, root, voters=3, observers=0):
        self.root = root
        self.members = []
        for i in range(voters + observers):
            self.members.append(Member(self, i + 1, root / ("m%d" % (i + 1)), observer=i >= voters))

    def start(self):
        for m in self.members:
            m.launch()
        for m in self.members:
            m.wait_ready(60)
        self.leader()
        return self

    def leader(self, timeout=20):
        def find():
            live = [m for m in self.members if m.proc and m.proc.poll() is None and not m.join]
            modes = {m.id: m.mode() for m in live}
            leaders = [m for m in live if modes[m.id] == "leader"]
            return leaders[0] if len(leaders) == 1 and None not in modes.values() else None
        return wait_until(find, timeout, what="one leader among the members")

    def hosts(self, first=None):
        ordered = sorted(self.members, key=lambda m: m is not first)
        return ",".join(m.address for m in ordered if not m.join)

    def stop(self):
        for m in self.members:
            m.stop()

    def cli(self, *args, check=True):
        p = subprocess.run([os.environ["DOUGONG_BIN"], "keeper", "members"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        if check:
            assert p.returncode == 0, p.stdout
        return p.stdout


@pytest.fixture
def cluster():
    root = Path(_tmp_root("keeper-cluster-"))
    c = Cluster(root)
    try:
        yield c.start()
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def _follower(cluster):
    leader = cluster.leader()
    return next(m for m in cluster.members if m is not leader), leader


def test_kazoo_session_and_watches_survive_the_loss_of_its_member(cluster, kazoo_factory):
    first, leader = _follower(cluster)
    client = kazoo_factory(cluster.hosts(first), randomize_hosts=False)
    assert client._connection._socket.getpeername()[1] == first.port
    session = client.client_id
    client.create("/moving", b"0")
    client.create("/moving/eph", b"e", ephemeral=True)
    # kazoo 2.8 drops one-shot watches on a lost connection (it passes them a
    # NONE event and sends no SetWatches); its DataWatch recipe sets them
    # again. The C client test below checks SetWatches itself.
    seen = []
    client.DataWatch("/moving", lambda data, stat: seen.append(data))
    wait_until(lambda: seen == [b"0"], 10, what="the first DataWatch call")
    first.kill9()
    other = kazoo_factory(leader)
    # The client moves to another member with the same session.
    wait_until(lambda: client.connected and client._connection._socket is not None
               and client._connection._socket.getpeername()[1] != first.port, 30,
               what="kazoo on another member")
    assert client.client_id == session
    assert client.exists("/moving/eph").ephemeralOwner == session[0]
    other.set("/moving", b"1")
    wait_until(lambda: seen[-1] == b"1", 15, what="the DataWatch after the move")
    # The member comes back and catches up.
    first.start(60)
    late = kazoo_factory(first)
    late.sync("/moving")
    assert late.get("/moving")[0] == b"1"


def test_c_client_session_and_watches_survive_the_loss_of_its_member(cluster, kazoo_factory):
    binary = c_client_binary()
    if not binary:
        pytest.skip("set KEEPER_C_CLIENT_CHECK to the built c_client_check (CTest does)")
    first, leader = _follower(cluster)
    p = subprocess.Popen([binary, "--failover", cluster.hosts(first), "/cmoving"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    def line_starting(prefix):
        seen = []
        for line in p.stdout:  # the client's own log lines come in between
            if line.startswith(prefix):
                return line
            seen.append(line)
            if line.startswith("FAIL"):
                break
        raise AssertionError("no '%s' line from c_client_check:\n%s" % (prefix, "".join(seen)))

    try:
        line = line_starting("serving ")
        serving = line.split()[1]
        victim = next(m for m in cluster.members if m.address == serving)
        victim.kill9()
        p.stdin.write("go\n")
        p.stdin.flush()
        line_starting("moved ")
        kazoo_factory(leader if leader is not victim else cluster.leader()).set("/cmoving", b"1")
        out, _ = p.communicate(timeout=30)
        assert p.returncode == 0, out
        assert "ok failover" in out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_members_add_and_remove_at_run_time(cluster, kazoo_factory):
    leader = cluster.leader()
    writer = kazoo_factory(leader)
    writer.create("/before", b"x")
    # A fourth member starts empty with join: true, and is added.
    new = Member(cluster, 4, cluster.root / "m4")
    new.join = True
    cluster.members.append(new)
    new.launch()
    out = cluster.cli("add", "--peer", cluster.members[0].peer, "--id", "4", "--address", new.peer,
                      "--client", new.address)
    assert "committed at index" in out
    new.join = False
    new.wait_ready(60)
    reader = kazoo_factory(new)
    reader.sync("/before")
    assert reader.exists("/before")
    listing = cluster.cli("list", "--peer", new.peer)
    assert re.search(r"^\s+4\s+(follower|leader)", listing, re.M), listing
    # Remove a follower that is not the new one; writes go on with 3.
    victim = next(m for m in cluster.members if m.mode() == "follower" and m is not new)
    cluster.cli("remove", "--peer", new.peer, "--id", str(victim.id))
    victim.stop()
    writer2 = kazoo_factory(cluster.leader())
    writer2.create("/after-remove", b"y")
    listing = cluster.cli("list", "--peer", cluster.leader().peer)
    assert not re.search(r"^\s+%d\s" % victim.id, listing, re.M), listing


def test_observer_serves_reads_and_forwards_writes(kazoo_factory):
    root = Path(_tmp_root("keeper-observer-"))
    c = Cluster(root, voters=3, observers=1)
    try:
        c.start()
        observer = c.members[3]
        wait_until(lambda: observer.mode() == "observer", 20, what="the observer's mode")
        assert "zk_server_state\tobserver" in observer.four_letter_word("mntr")
        client = kazoo_factory(observer)
        client.create("/via-observer", b"o")
        client.sync("/via-observer")
        assert client.get("/via-observer")[0] == b"o"
        leader = c.leader()
        # Losing the observer costs no quorum; losing it and one voter neither.
        observer.kill9()
        victim = next(m for m in c.members[:3] if m is not leader)
        victim.kill9()
        kazoo_factory(leader).create("/still-writable", b"w")
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_four_letter_words_and_metrics_show_roles_and_lag(cluster):
    leader = cluster.leader()
    mntr = leader.four_letter_word("mntr")
    for key in ("zk_server_state\tleader", "zk_raft_term", "zk_raft_commit_index", "zk_followers\t2",
                "zk_synced_followers"):
        assert key in mntr, mntr
    follower = next(m for m in cluster.members if m is not leader)
    assert "zk_server_state\tfollower" in follower.four_letter_word("mntr")
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % leader.admin_port, timeout=10).read().decode()
    assert "keeper_raft_role 2" in body
    assert re.search(r'keeper_raft_follower_lag\{member="%d"\} \d+' % follower.id, body), body
