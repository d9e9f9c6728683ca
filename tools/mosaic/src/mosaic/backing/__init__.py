"""Backing services for Mosaic: embedded Postgres and Valkey, and per-service provisioning.

`BackingServers` starts both under a directory for tests and scripts; the runner uses the
server classes and the provisioning functions directly.
"""

from mosaic.backing.postgres import EmbeddedPostgres
from mosaic.backing.provision import provision_broker, provision_postgres, provision_valkey
from mosaic.backing.secrets import Secrets
from mosaic.backing.servers import BackingServers
from mosaic.backing.valkey import EmbeddedValkey

__all__ = [
    "BackingServers",
    "EmbeddedPostgres",
    "EmbeddedValkey",
    "Secrets",
    "provision_broker",
    "provision_postgres",
    "provision_valkey",
]
