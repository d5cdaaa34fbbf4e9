"""ZooKeeper's own CLI (zkCli.sh, the Java client) against each server.

A JVM start costs about a second, so commands go in batches on stdin; a
marker command (`ls` of a missing path, which prints "Node does not exist:
/zkcli-mark-N") separates the outputs of consecutive commands.
"""

import os
import re
import subprocess

import pytest

from conftest import ZK_CLI

if not ZK_CLI.exists():
    pytest.skip("zkCli.sh not installed at %s" % ZK_CLI, allow_module_level=True)

STAT_KEYS = ["cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion",
             "aclVersion", "ephemeralOwner", "dataLength", "numChildren"]


def zkcli_batch(server, commands, timeout=60):
    """Runs commands in one zkCli session; returns one output string per command."""
    lines = []
    for i, c in enumerate(commands):
        lines.append(c)
        lines.append("ls /zkcli-mark-%d" % i)
    lines.append("quit")
    env = dict(os.environ)
    env.setdefault("CLIENT_JVMFLAGS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    p = subprocess.run([str(ZK_CLI), "-server", server.address], input="\n".join(lines) + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # errors go to stderr
                       text=True, timeout=timeout, env=env)
    out = p.stdout
    start = out.find("WatchedEvent state:SyncConnected")
    assert start >= 0, "zkCli did not connect:\n%s" % out
    out = out[out.index("\n", start) + 1:]
    parts = []
    for i in range(len(commands)):
        mark = "Node does not exist: /zkcli-mark-%d\n" % i
        assert mark in out, "marker %d missing; output so far:\n%s" % (i, out)
        chunk, out = out.split(mark, 1)
        parts.append(chunk.strip("\n"))
    return parts


def parse_stat(text):
    d = {}
    for line in text.splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            d[k] = v
    return d


def test_zkcli_crud_acl(server, kazoo_factory, base_path):
    p = base_path
    cmds = [
        "create %s hello" % p,                 # 0
        "get %s" % p,                          # 1
        "set %s world" % p,                    # 2
        "get -s %s" % p,                       # 3
        "stat %s" % p,                         # 4
        "create %s/c1 one" % p,                # 5
        "create -e -s %s/e- eph" % p,          # 6
        "ls %s" % p,                           # 7
        "ls -s %s" % p,                        # 8
        "create %s hello" % p,                 # 9  exists
        "delete %s" % p,                       # 10 not empty
        "delete %s/c1" % p,                    # 11
        "get %s/c1" % p,                       # 12 no node
        "getAcl %s" % p,                       # 13
        "addauth digest user1:pw1",            # 14
        "setAcl %s auth:user1:pw1:cdrwa" % p,  # 15
        "getAcl %s" % p,                       # 16
        "create %s/x/y" % p,                   # 17 parent missing
        "create %s/x" % p,                     # 18
        "create %s/x/y" % p,                   # 19
        "deleteall %s/x" % p,                  # 20
        "ls %s" % p,                           # 21
        "set -v 5 %s again" % p,               # 22 bad version
        "stat /zookeeper/nope",                # 23
    ]
    out = zkcli_batch(server, cmds)
    assert out[0] == "Created %s" % p
    assert out[1] == "hello"
    assert out[2] == ""
    lines = out[3].splitlines()
    assert lines[0] == "world"
    st = parse_stat(out[3])
    assert list(st) == STAT_KEYS
    assert st["dataVersion"] == "1" and st["dataLength"] == "5" and st["numChildren"] == "0"
    assert re.fullmatch(r"0x[0-9a-f]+", st["cZxid"]) and st["ephemeralOwner"] == "0x0"
    st4 = parse_stat(out[4])
    assert st4 == st
    assert out[5] == "Created %s/c1" % p
    eph = "%s/e-%010d" % (p, 1)
    assert out[6] == "Created %s" % eph
    assert out[7] == "[c1, e-%010d]" % 1
    ls_s = out[8].splitlines()
    assert ls_s[0] == "[c1, e-%010d]" % 1 and parse_stat(out[8])["numChildren"] == "2"
    assert out[9] == "Node already exists: %s" % p
    assert out[10] == "Node not empty: %s" % p
    assert out[11] == ""
    assert out[12] == "Node does not exist: %s/c1" % p
    assert out[13].splitlines() == ["'world,'anyone", ": cdrwa"]
    assert out[14] == ""
    assert out[15] == ""
    acl_lines = out[16].splitlines()
    assert acl_lines[0].startswith("'digest,'user1:") and acl_lines[1] == ": cdrwa"
    assert out[17] == "Node does not exist: %s/x/y" % p
    assert out[18] == "Created %s/x" % p
    assert out[19] == "Created %s/x/y" % p
    assert out[20] == ""
    assert out[21] == "[e-%010d]" % 1      # zkCli's session (and ephemeral) is still open
    assert "version No is not valid" in out[22] or "BadVersion" in out[22], out[22]
    assert out[23] == "Node does not exist: /zookeeper/nope"

    # The Java client's session closed at `quit`: its ephemeral is gone,
    # the rest is as zkCli left it.
    zk = kazoo_factory(server)
    assert zk.exists(eph) is None
    with pytest.raises(Exception) as e:
        zk.get(p)
    assert type(e.value).__name__ == "NoAuthError"
    zk.add_auth("digest", "user1:pw1")
    data, st = zk.get(p)
    assert data == b"world" and st.version == 1 and st.aversion == 1
    assert zk.get_children(p) == []


def test_zkcli_noauth_and_digest_acl(server, kazoo_factory, base_path):
    from kazoo.security import make_digest_acl
    zk = kazoo_factory(server)
    zk.create(base_path, b"secret", acl=[make_digest_acl("u2", "pw2", all=True)])
    out = zkcli_batch(server, [
        "get %s" % base_path,
        "addauth digest u2:wrong",
        "get %s" % base_path,
        "addauth digest u2:pw2",
        "get %s" % base_path,
        "set %s changed" % base_path,
        "create -s %s/s- x" % base_path,
        "delete %s/s-0000000000" % base_path,
    ])
    assert out[0] == "Insufficient permission : %s" % base_path
    assert out[2] == "Insufficient permission : %s" % base_path
    assert out[4] == "secret"
    assert out[5] == ""
    assert out[6] == "Created %s/s-0000000000" % base_path
    assert out[7] == ""
    zk.add_auth("digest", "u2:pw2")
    assert zk.get(base_path)[0] == b"changed"
