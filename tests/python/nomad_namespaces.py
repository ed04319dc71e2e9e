"""Drives regions and namespaces through python-nomad: create, read, list, register a job
into a namespace, refuse deleting it while the job is there, delete it.

Usage: nomad_namespaces.py HOST PORT. Exits non-zero (with the failing check) on a mismatch.
"""

import sys

import nomad
import nomad.api.exceptions

HOST, PORT = sys.argv[1], int(sys.argv[2])
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


check(n.regions.get_regions() == ["global"], "regions")

n.namespace.create_namespace({"Name": "pyns", "Description": "from python"})
ns = n.namespace.get_namespace("pyns")
check(ns["Name"] == "pyns" and ns["Description"] == "from python", f"namespace: {ns!r}")
check(ns["CreateIndex"] > 0 and ns["ModifyIndex"] >= ns["CreateIndex"], f"indexes: {ns!r}")
names = [x["Name"] for x in n.namespaces.get_namespaces()]
check(names == ["default", "pyns"], f"namespaces: {names!r}")
check("pyns" in n.namespaces, "membership test")

n.namespace.update_namespace("pyns", {"Name": "pyns", "Description": "changed"})
check(n.namespace.get_namespace("pyns")["Description"] == "changed", "update")

job = {"Job": {"ID": "pyjob", "Name": "pyjob", "Type": "batch", "Namespace": "pyns",
               "Datacenters": ["dc1"],
               "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [
                   {"Name": "t", "Driver": "docker", "Config": {"image": "none:1"}}]}]}}
n.job.register_job("pyjob", job)
try:
    n.namespace.delete_namespace("pyns")
    raise AssertionError("a namespace holding a job was deleted")
except nomad.api.exceptions.BadRequestNomadException:
    pass
n.job.deregister_job("pyjob", purge=True, namespace="pyns")
n.namespace.delete_namespace("pyns")
try:
    n.namespace.get_namespace("pyns")
    raise AssertionError("a deleted namespace is still read")
except nomad.api.exceptions.URLNotFoundNomadException:
    pass

print("every namespace call answered as Nomad does")
