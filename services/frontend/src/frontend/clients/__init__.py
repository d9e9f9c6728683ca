"""Outgoing calls: one module per callee, each reading answers through `answers`."""
