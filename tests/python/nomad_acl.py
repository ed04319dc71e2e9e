"""python-nomad against the built-in cluster's ACL API: a management token creates a
policy and a client token; the client token reads jobs and is refused writes.

Usage: nomad_acl.py HOST PORT MANAGEMENT_SECRET
"""
import sys

import nomad
from nomad.api.exceptions import URLNotAuthorizedNomadException

host, port, management = sys.argv[1], int(sys.argv[2]), sys.argv[3]
admin = nomad.Nomad(host=host, port=port, token=management, timeout=20)

admin.acl.create_policy("py-read", {
    "Name": "py-read",
    "Description": "read jobs",
    "Rules": 'namespace "default" { policy = "read" }',
})
policy = admin.acl.get_policy("py-read")
assert policy["Name"] == "py-read" and "read" in policy["Rules"], policy
assert any(p["Name"] == "py-read" for p in admin.acl.get_policies())

token = admin.acl.create_token({"Name": "py", "Type": "client", "Policies": ["py-read"]})
assert token["Type"] == "client" and token["SecretID"], token
assert any(t["AccessorID"] == token["AccessorID"] for t in admin.acl.get_tokens())
assert admin.acl.get_token(token["AccessorID"])["Name"] == "py"

reader = nomad.Nomad(host=host, port=port, token=token["SecretID"], timeout=20)
assert isinstance(reader.jobs.get_jobs(), list)
assert reader.acl.get_self_token()["AccessorID"] == token["AccessorID"]
job = {"Job": {"ID": "py", "Name": "py", "Type": "batch", "Datacenters": ["dc1"],
               "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec",
                                                        "Config": {"command": "/bin/true"}}]}]}}
try:
    reader.jobs.register_job(job)
    raise SystemExit("a read-only token registered a job")
except URLNotAuthorizedNomadException:
    pass
try:
    reader.acl.get_tokens()
    raise SystemExit("a client token listed tokens")
except URLNotAuthorizedNomadException:
    pass

updated = admin.acl.update_token(token["AccessorID"], {"AccessorID": token["AccessorID"], "Name": "py2",
                                                      "Type": "client", "Policies": ["py-read"]})
assert updated["Name"] == "py2", updated
assert admin.acl.delete_token(token["AccessorID"])
assert admin.acl.delete_policy("py-read")
print("ACL calls answered as Nomad does")
