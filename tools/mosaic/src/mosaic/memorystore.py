"""The ACL policy of Memorystore for Valkey: every service's Valkey users, for a Valkey that
refuses `ACL SETUSER` (NOPERM) and takes its users from a policy made through Google's API.

Each rule is the one provisioning sets on our own Valkey (mosaic.backing.provision's
cache_acl and broker_acl, by way of service_secrets.valkey_users), with the passwords the
services' Secrets hold. The file is a gcloud `--flags-file` (`gcloud topic flags-file`: a
list of dictionaries for a flag given several times), so the passwords reach gcloud in a
file of the operator's, never on a command line where the process list shows them:

    gcloud memorystore acl-policies create mosaic --location=REGION --flags-file=FILE
    gcloud memorystore acl-policies update mosaic --location=REGION --flags-file=FILE

Verified from Google's reference only (no project here to run it in): the flag `--rules`
with keys `username` and `rule`, the rule in Valkey's ACL syntax, the username "directly set
on the Valkey OSS". Not verified: that gcloud reads a repeated `--rules` from a flags file
this way, and that a policy accepts ACL selectors `(...)`, which the broker users need.
"""

from __future__ import annotations

from typing import Any

import yaml

from mosaic.backing.secrets import Secrets
from mosaic.backing.service_secrets import valkey_users
from mosaic.services import Service

POLICY = "mosaic"  # the policy's name in docs/deploy.md
FLAG = "--rules"

HEADER = """\
# The Memorystore for Valkey ACL policy of Mosaic's services, made by `mosaic deploy k8s
# secrets --valkey-acl-policy`: every user's password. Keep it 0600; running the command
# again writes the same. A gcloud --flags-file:
#   gcloud memorystore acl-policies create {policy} --location=REGION --flags-file=THIS_FILE
#   (or `update` for a policy that exists; it replaces every rule)
"""


def rules(services: list[Service], secrets: Secrets) -> list[dict[str, str]]:
    """Every service's users, as the policy's rules (username, rule)."""
    return [
        {"username": user.name, "rule": user.text()}
        for service in services
        for user in valkey_users(service, secrets)
    ]


def flags_file(services: list[Service], secrets: Secrets) -> str:
    found: list[dict[str, Any]] = [{FLAG: rule} for rule in rules(services, secrets)]
    return HEADER.format(policy=POLICY) + yaml.safe_dump(found, sort_keys=False, width=1000)
