"""Contract compatibility: released baselines of every service's contracts
(`contracts/released/<version>/`) and the check that a change breaks none of their callers.

`released` finds and writes the contracts, `schemas` compares two JSON Schemas as a writer
and a reader see them, `openapi` compares two `openapi.json`, `check` compares the
workspace with the newest release, `cli` is `mosaic contracts`.
"""
