"""Mosaic accounts: identity for the shop."""
