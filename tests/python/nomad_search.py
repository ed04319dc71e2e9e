"""Prefix and fuzzy search through python-nomad, for a job named pysearch registered first.

Usage: nomad_search.py HOST PORT. Exits non-zero (with the failing check) on a mismatch.
"""

import sys

import nomad

HOST, PORT = sys.argv[1], int(sys.argv[2])
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


r = n.search.search("pys", "jobs")
check(r == {"Matches": {"jobs": ["pysearch"]}, "Truncations": {"jobs": False}}, f"prefix: {r!r}")
r = n.search.fuzzy_search("search", "jobs")
check(r["Matches"]["jobs"] == [{"ID": "pysearch", "Scope": ["default", "pysearch"]}], f"fuzzy: {r!r}")
print("search answered as Nomad does")
