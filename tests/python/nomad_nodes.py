"""Node and system calls through python-nomad against a dev agent whose one node runs a job
named pynodejob: stubs with resources and OS attributes, a node evaluation, summary
reconciliation, and a purge.

Usage: nomad_nodes.py HOST PORT. Exits non-zero (with the failing check) on a mismatch.
"""

import sys

import nomad

HOST, PORT = sys.argv[1], int(sys.argv[2])
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


stubs = n.nodes.get_nodes()
check(len(stubs) == 1 and stubs[0]["Attributes"] is None, f"plain stubs: {stubs!r}")
check("NodeResources" not in stubs[0], f"plain stubs: {stubs!r}")
node_id = stubs[0]["ID"]
node = n.node.get_node(node_id)
full = n.nodes.get_nodes(resources=True, os=True)
check(full[0]["NodeResources"] == node["NodeResources"], "NodeResources")
check(full[0]["ReservedResources"] == node["ReservedResources"], "ReservedResources")
check(sorted(full[0]["Attributes"]) == ["os.name", "os.version"], f"os: {full[0]['Attributes']!r}")
check(full[0]["Attributes"]["os.name"] == node["Attributes"]["os.name"], "os.name")

r = n.node.evaluate_node(node_id)
check(len(r["EvalIDs"]) == 1 and r["EvalCreateIndex"] > 0, f"evaluate: {r!r}")
check(n.evaluation.get_evaluation(r["EvalIDs"][0])["JobID"] == "pynodejob", "evaluated job")
check(n.system.reconcile_summaries() is True, "reconcile")

r = n.node.purge_node(node_id)
check(len(r["EvalIDs"]) == 1 and r["NodeModifyIndex"] == r["Index"], f"purge: {r!r}")
allocs = n.job.get_allocations("pynodejob")
check(any(a["ClientStatus"] == "lost" for a in allocs), f"allocations after purge: {allocs!r}")
print("nodes answered as Nomad does")
