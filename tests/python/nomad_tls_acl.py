"""python-nomad over HTTPS with a client certificate and an ACL token at once: the management
token registers a job and makes a client token bound to a read-only namespace policy; that
token lists and reads jobs and is refused a registration (403).

Usage: nomad_tls_acl.py HOST PORT CA_FILE CERT_FILE KEY_FILE MANAGEMENT_SECRET
"""
import sys

import nomad
from nomad.api.exceptions import URLNotAuthorizedNomadException

host, port, ca, cert, key, management = sys.argv[1:7]


def client(token):
    return nomad.Nomad(host=host, port=int(port), secure=True, verify=ca, cert=(cert, key),
                       token=token, timeout=20)


def job(job_id):
    return {"Job": {"ID": job_id, "Name": job_id, "Type": "service", "Datacenters": ["dc1"],
                    "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{
                        "Name": "app", "Driver": "docker", "Config": {"image": "nginx:1"}}]}]}}


admin = client(management)
registered = admin.jobs.register_job(job("tls-acl"))
assert registered["EvalID"], registered
admin.acl.create_policy("tls-read", {
    "Name": "tls-read",
    "Description": "read jobs in default",
    "Rules": 'namespace "default" { policy = "read" }',
})
token = admin.acl.create_token({"Name": "tls-reader", "Type": "client", "Policies": ["tls-read"]})
assert token["Type"] == "client", token

reader = client(token["SecretID"])
ids = [j["ID"] for j in reader.jobs.get_jobs()]
assert "tls-acl" in ids, ids
assert reader.job.get_job("tls-acl")["ID"] == "tls-acl"
try:
    reader.jobs.register_job(job("tls-acl-denied"))
    raise SystemExit("a read-only token registered a job over HTTPS")
except URLNotAuthorizedNomadException:
    pass
try:
    client(None).jobs.get_jobs()
    raise SystemExit("no token listed jobs over HTTPS with ACLs on")
except URLNotAuthorizedNomadException:
    pass
ids = [j["ID"] for j in admin.jobs.get_jobs()]
assert "tls-acl-denied" not in ids, ids
print("python-nomad over HTTPS with tokens: read allowed, register refused")
