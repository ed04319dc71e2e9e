"""Drives a deploy agent through the python-nomad client and checks Nomad-shaped answers.

Usage: nomad_client.py HOST PORT RPC_PORT CLUSTER_KEY. Exits non-zero (with the failing check)
on any mismatch.
"""

import sys
import time

import nomad
import requests

HOST, PORT = sys.argv[1], int(sys.argv[2])
RPC_PORT, CLUSTER_KEY = int(sys.argv[3]), sys.argv[4]
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def job(count, image):
    return {
        "ID": "pyweb", "Name": "pyweb", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web", "Count": count,
            "Tasks": [{"Name": "app", "Driver": "docker", "Config": {"image": image},
                       "Resources": {"CPU": 100, "MemoryMB": 64}}],
        }],
    }


def wait_eval(eval_id):
    deadline = time.time() + 20
    while time.time() < deadline:
        ev = n.evaluation.get_evaluation(eval_id)
        if ev["Status"] != "pending":
            return ev
        time.sleep(0.05)
    raise AssertionError(f"evaluation {eval_id} still pending")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# A node to place on (registered through the servers' node registration RPC, as a server).
node = {
    "ID": "11111111-2222-3333-4444-555555555555", "Name": "py-node", "Datacenter": "dc1",
    "Status": "ready", "SchedulingEligibility": "eligible",
    "Drivers": {"docker": {"Detected": True, "Healthy": True}},
    "NodeResources": {"Cpu": {"CpuShares": 4000}, "Memory": {"MemoryMB": 8192},
                      "Disk": {"DiskMB": 100000}},
}
r = requests.put(f"http://{HOST}:{RPC_PORT}/v1/internal/node/register", json={"Node": node},
                 headers={"X-Deploy-Cluster-Key": CLUSTER_KEY}, timeout=15)
r.raise_for_status()
check(len(n.nodes.get_nodes()) == 1, "one node listed")

# Register: Nomad's JobRegisterResponse.
reg = n.job.register_job("pyweb", {"Job": job(2, "nginx:1")})
check(reg["EvalID"] and reg["JobModifyIndex"] > 0, f"register response {reg}")
ev = wait_eval(reg["EvalID"])
check(ev["Status"] == "complete" and ev["JobID"] == "pyweb", f"evaluation {ev}")
check(n.job.get_job("pyweb")["Status"] == "running", "job running")

# Plan: a destructive change with a diff.
plan = n.job.plan_job("pyweb", {"Job": job(2, "nginx:2")}, diff=True)
check(plan["Diff"]["Type"] == "Edited", f"plan diff {plan['Diff']}")
# The job has no update block: registration gives it Nomad's default (max_parallel = 1), so
# one allocation is replaced now and the other waits, as Nomad plans it.
tg = plan["Annotations"]["DesiredTGUpdates"]["web"]
check(tg["DestructiveUpdate"] == 1 and tg["Ignore"] == 1, f"plan {plan}")
check(plan["JobModifyIndex"] == reg["JobModifyIndex"], "plan JobModifyIndex")

# A second version, then versions and revert.
reg2 = n.job.register_job("pyweb", {"Job": job(2, "nginx:2")})
wait_eval(reg2["EvalID"])
versions = n.job.get_versions("pyweb")["Versions"]
check([v["Version"] for v in versions] == [1, 0], f"versions {[v['Version'] for v in versions]}")
rev = n.job.revert_job("pyweb", 0, enforce_prior_version=1)
wait_eval(rev["EvalID"])
current = n.job.get_job("pyweb")
check(current["Version"] == 2, f"revert makes version 2, got {current['Version']}")
check(current["TaskGroups"][0]["Tasks"][0]["Config"]["image"] == "nginx:1", "reverted spec")

# Allocations and evaluations.
allocs = [a for a in n.job.get_allocations("pyweb") if a["DesiredStatus"] == "run"]
check(len(allocs) == 2, f"two running allocations, got {len(allocs)}")
alloc = n.allocation.get_allocation(allocs[0]["ID"])
check(alloc["Job"]["ID"] == "pyweb" and alloc["NodeID"] == node["ID"], "allocation read")
check(len(n.allocations.get_allocations()) >= 2, "allocations list")
evals = n.job.get_evaluations("pyweb")
check(len(evals) >= 3 and all(e["Status"] == "complete" for e in evals), f"job evaluations {evals}")
check(len(n.evaluations.get_evaluations()) >= 3, "evaluations list")

# Variables with check-and-set.
var = n.variable.create_variable("app/config", {"Items": {"user": "me"}})
check(var["Items"]["user"] == "me", f"variable {var}")
check(n.variable.get_variable("app/config")["Items"] == {"user": "me"}, "variable read")
try:
    n.variable.create_variable("app/config", {"Items": {"user": "you"}}, cas=var["ModifyIndex"] + 1000)
    raise AssertionError("a stale check-and-set must conflict")
except nomad.api.exceptions.VariableConflict:
    pass
check(any(v["Path"] == "app/config" for v in n.variables.get_variables()), "variables list")
n.variable.delete_variable("app/config")

# Deregister: the allocations stop.
dereg = n.job.deregister_job("pyweb")
wait_eval(dereg["EvalID"])
live = [a for a in n.job.get_allocations("pyweb") if a["DesiredStatus"] == "run"]
check(live == [], "deregister stops every allocation")
check(n.job.get_job("pyweb")["Stop"] is True, "job stopped")
print("python-nomad: every call answered as Nomad does")
