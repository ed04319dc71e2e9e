"""Reads the event stream through python-nomad: registers a job, then follows
/v1/event/stream from index 1 filtered to that job's Job topic and checks the event.

Usage: nomad_events.py HOST PORT. Exits non-zero (with the failing check) on a mismatch.
"""

import queue
import sys

import nomad

HOST, PORT = sys.argv[1], int(sys.argv[2])
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


job = {"Job": {"ID": "pyev", "Name": "pyev", "Type": "batch", "Datacenters": ["dc1"],
               "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [
                   {"Name": "t", "Driver": "docker", "Config": {"image": "none:1"}}]}]}}
n.job.register_job("pyev", job)

thread, stop, events = n.event.stream.get_stream(index=1, topic=["Job:pyev"], timeout=30)
thread.daemon = True
thread.start()
try:
    batch = events.get(timeout=30)
except queue.Empty:
    raise AssertionError("no event within 30 s")
stop.set()
check(sorted(batch) == ["Events", "Index"], f"batch keys: {sorted(batch)!r}")
event = batch["Events"][0]
check(event["Topic"] == "Job" and event["Type"] == "JobRegistered", f"event: {event!r}")
check(event["Key"] == "pyev" and event["Namespace"] == "default", f"event: {event!r}")
check(event["Payload"]["Job"]["ID"] == "pyev", "payload")
check(event["Index"] == batch["Index"], "index")
print("the event stream answered as Nomad does")
