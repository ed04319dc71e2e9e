"""Exact behaviours through python-nomad: validating an empty job is Nomad's 400, parsing answers
the bare job (unset fields filled only with Canonicalize), and setting allocation health on a
failed deployment is Nomad's refusal.

Usage: nomad_exact.py HOST PORT DEPLOYMENT_ID ALLOC_ID (a failed deployment and one of its
allocations). Exits non-zero (with the failing check) on a mismatch.
"""

import sys

import nomad

HOST, PORT, DEPLOYMENT, ALLOC = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def refused(call, status, text):
    try:
        call()
    except nomad.api.exceptions.BaseNomadException as e:
        resp = e.nomad_resp
        check((resp.status_code, resp.text) == (status, text), f"refusal: {resp.status_code} {resp.text!r}")
        return
    raise AssertionError(f"not refused: expected {status} {text!r}")


refused(lambda: n.validate.validate_job({}), 400, "Job must be specified")
hcl = 'job "parsed" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n    }\n  }\n}\n'
raw = n.jobs.parse(hcl, canonicalize=False)
check(raw["ID"] == "parsed" and "Job" not in raw, f"parse: {raw!r}")
check(raw.get("Priority") is None, f"not canonicalized: {raw.get('Priority')!r}")
full = n.jobs.parse(hcl, canonicalize=True)
check((full["ID"], full["Priority"], full["TaskGroups"][0]["Count"]) == ("parsed", 50, 1), f"canonical: {full!r}")
refused(
    lambda: n.deployment.deployment_allocation_health(DEPLOYMENT, healthy_allocations=[ALLOC]),
    500,
    "can't set health of allocations for a terminal deployment",
)
check(n.deployment.get_deployment(DEPLOYMENT)["Status"] == "failed", "deployment status")
print("exact behaviours as Nomad's")
