"""Mosaic's load generator: the shop's user flows, driven by Locust."""
