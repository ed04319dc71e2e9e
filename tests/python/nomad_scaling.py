"""Scaling policies and job scale status through python-nomad, for a job named pyscaled (group
web, scaling min 1 max 3) registered first.

Usage: nomad_scaling.py HOST PORT. Exits non-zero (with the failing check) on a mismatch.
"""

import sys

import nomad

HOST, PORT = sys.argv[1], int(sys.argv[2])
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


target = {"Namespace": "default", "Job": "pyscaled", "Group": "web"}
policies = n.scaling.get_scaling_policies()
check(len(policies) == 1 and policies[0]["Target"] == target, f"list: {policies!r}")
check(policies[0]["Type"] == "horizontal" and policies[0]["Enabled"] is True, f"list: {policies!r}")
check(n.scaling.get_scaling_policies(job="pyscaled") == policies, "job filter")
check(n.scaling.get_scaling_policies(job="other") == [], "other job")
check(n.scaling.get_scaling_policies(type_="horizontal") == policies, "type filter")
check(n.scaling.get_scaling_policies(type_="vertical_mem") == [], "vertical")
policy = n.scaling.get_scaling_policy(policies[0]["ID"])
check((policy["Min"], policy["Max"], policy["Target"]) == (1, 3, target), f"read: {policy!r}")
try:
    n.scaling.get_scaling_policy("00000000-0000-0000-0000-000000000000")
    raise AssertionError("an unknown policy was found")
except nomad.api.exceptions.URLNotFoundNomadException:
    pass
print("scaling answered as Nomad does")
