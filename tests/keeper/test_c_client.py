"""The Apache ZooKeeper C client (libzookeeper_mt 3.8, sync API, one async
call and a data watch) against each server: c_client_check.c."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT


def _binary():
    b = os.environ.get("KEEPER_C_CLIENT_CHECK")
    if b:
        return b
    # run by hand: the build dir of the task brief, if built there
    guess = REPO_ROOT / "build" / "h-tests" / "tests" / "keeper" / "c_client_check"
    return str(guess) if guess.exists() else None


def test_c_client(server, kazoo_factory, base_path):
    binary = _binary()
    if not binary:
        pytest.skip("set KEEPER_C_CLIENT_CHECK to the built c_client_check (CTest does)")
    p = subprocess.run([binary, server.address, base_path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    print(p.stdout)
    assert p.returncode == 0, "c_client_check failed (rc %d):\n%s" % (p.returncode, p.stdout)
    steps = [l.split(" ", 1)[1] for l in p.stdout.splitlines() if l.startswith("ok ")]
    assert steps == ["connect", "create", "get", "set", "exists", "children", "ephemeral",
                     "watch", "async", "multi", "errors", "delete"]
    # and the server agrees that it cleaned up
    assert kazoo_factory(server).exists(base_path) is None
