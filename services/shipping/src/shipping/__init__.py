"""Mosaic shipping: quotes by destination and items, shipments with tracking ids.

Prices are in USD minor units from a zone table shipped with the service (data/zones.toml);
shipments are created once per Idempotency-Key and can be cancelled.
"""
