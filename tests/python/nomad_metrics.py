"""Reads /v1/metrics through python-nomad and checks Nomad's shape.

Usage: nomad_metrics.py HOST PORT. Exits non-zero (with the failing check) on a mismatch.
"""

import sys

import nomad

HOST, PORT = sys.argv[1], int(sys.argv[2])
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


m = n.metrics.get_metrics()
check(sorted(m) == ["Counters", "Gauges", "Points", "Samples", "Timestamp"], f"keys: {sorted(m)!r}")
names = {g["Name"]: g for g in m["Gauges"]}
check(names["nomad.raft.leader"]["Value"] == 1, f"leader: {names.get('nomad.raft.leader')!r}")
check(all(set(g) == {"Name", "Labels", "Value"} for g in m["Gauges"]), "gauge fields")
print("metrics answered as Nomad does")
