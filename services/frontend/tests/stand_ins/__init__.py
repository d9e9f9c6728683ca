"""One stand-in per service the frontend calls; each checked against its callee's
`openapi.json` (tests/test_stand_ins.py and the fixtures in conftest.py)."""
