"""Drives a server agent's client routes (forwarded to the allocation's client) through
python-nomad: ls, stat, cat, read_at, stream_file, stats, signal and restart.

Usage: nomad_client_fs.py HOST PORT ALLOC_ID DONE_ALLOC_ID NODE_ID. ALLOC_ID runs task `app`
(files `alloc/data/digits`, `app/local/out.txt`); DONE_ALLOC_ID finished after writing
`alloc/data/result`. Exits non-zero (with the failing check) on any mismatch.
"""

import base64
import json
import sys
import time

import nomad

HOST, PORT, ALLOC, DONE, NODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n = nomad.Nomad(host=HOST, port=PORT, timeout=15)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


root = n.client.ls.list_files(ALLOC, path="/")
names = {f["Name"] for f in root}
check({"alloc", "app"} <= names, f"ls / {root}")
check(all({"Name", "IsDir", "Size", "FileMode", "ModTime"} <= set(f) for f in root), f"fields {root}")

st = n.client.stat.stat_file(ALLOC, path="/alloc/data/digits")
check(st["Name"] == "digits" and st["Size"] == 10 and st["IsDir"] is False, f"stat {st}")
check(st["ContentType"].startswith("text/plain"), f"content type {st}")

check(n.client.cat.read_file(ALLOC, path="/app/local/out.txt") == "hello", "cat")
check(n.client.read_at.read_file_offset(ALLOC, 2, 5, path="/alloc/data/digits") == "23456", "read_at")

try:
    n.client.cat.read_file(ALLOC, path="/alloc/data/missing")
    raise AssertionError("a missing file must be an error")
except nomad.api.exceptions.URLNotFoundNomadException:
    pass
try:
    n.client.cat.read_file(ALLOC, path="/app/local/escape")
    raise AssertionError("a symlink must be refused")
except nomad.api.exceptions.URLNotAuthorizedNomadException:
    pass

# stream_file follows (Nomad's default): on a finished allocation it ends at the file's end.
body = n.client.stream_file.stream(DONE, 0, "start", path="/alloc/data/result")
decoder, pos, data = json.JSONDecoder(), 0, b""
while pos < len(body):
    frame, end = decoder.raw_decode(body, pos)
    pos = end
    if "Data" in frame:
        data += base64.b64decode(frame["Data"])
        check(frame["File"] == "alloc/data/result", f"frame {frame}")
check(data == b"finished-output", f"stream data {data!r}")

stats = n.client.stats.read_stats(NODE)
check(stats["Memory"]["Total"] > 0 and len(stats["CPU"]) > 0, f"host stats {stats}")
check("AllocDirStats" in stats and stats["Uptime"] > 0, f"host stats {stats}")

alloc_stats = n.client.allocation.read_allocation_stats(ALLOC)
check("app" in alloc_stats["Tasks"], f"allocation stats {alloc_stats}")

before = n.allocation.get_allocation(ALLOC)["TaskStates"]["app"]["Restarts"]
check(n.client.allocation.signal_allocation(ALLOC, "SIGUSR1", task="app") == {}, "signal answer")
check(n.client.allocation.signal_allocation(ALLOC, "SIGUSR1") == {}, "signal every task")
try:
    n.client.allocation.signal_allocation(ALLOC, "SIGNOPE", task="app")
    raise AssertionError("an unknown signal must be refused")
except nomad.api.exceptions.BadRequestNomadException:
    pass
check(n.client.allocation.restart_allocation(ALLOC) == {}, "restart answer")
deadline = time.time() + 20
while time.time() < deadline:
    app = n.allocation.get_allocation(ALLOC)["TaskStates"]["app"]
    if app["Restarts"] == before + 1 and app["State"] == "running":
        break
    time.sleep(0.1)
else:
    raise AssertionError(f"restart not counted: {app}")
check(any(e["Type"] == "Restart Signaled" for e in app["Events"]), f"events {app['Events']}")
print("python-nomad: client routes answered as Nomad's")
