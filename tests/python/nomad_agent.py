"""Drives a deploy agent's own routes (servers, join, force-leave) through python-nomad.

Usage: nomad_agent.py HOST PORT SERVER_RPC_ADDR. The agent is a server and a client whose
only server is SERVER_RPC_ADDR. Exits non-zero (with the failing check) on any mismatch.
"""

import sys

import nomad
import nomad.api.exceptions

HOST, PORT, RPC = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


servers = n.agent.get_servers()
check(servers == [RPC], f"get_servers: {servers!r}")

check(n.agent.update_servers([RPC, "10.1.1.1:4647"]) == 200, "update_servers status")
servers = n.agent.get_servers()
check(servers == sorted([RPC, "10.1.1.1:4647"]), f"servers after update: {servers!r}")
check(n.agent.update_servers([RPC]) == 200, "restoring the servers")

joined = n.agent.join_agent(["127.0.0.1:1"])
check(joined["num_joined"] == 0, f"join of a dead address: {joined!r}")
check("127.0.0.1:1" in joined["error"], f"join error names the address: {joined!r}")

try:
    n.agent.force_leave("nobody.global")
    raise AssertionError("force_leave of an unknown server succeeded")
except nomad.api.exceptions.URLNotFoundNomadException:
    pass

members = n.agent.get_members()
check(len(members["Members"]) == 1, f"members: {members!r}")

print("every agent call answered as Nomad does")
