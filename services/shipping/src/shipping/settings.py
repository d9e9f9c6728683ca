"""The shipping service's configuration: every field an environment variable.

It calls no other service; it needs its database, and the trust store to verify callers.
"""

from __future__ import annotations

from chassis import DatabaseSettings, ServiceSettings


class ShippingSettings(ServiceSettings, DatabaseSettings):
    pass
