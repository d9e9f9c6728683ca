"""One stand-in per service the frontend calls (`<callee>.py`), each checked against its
callee's committed contract: every answer when its test ends (conftest.py), and the check
itself in tests/test_stand_ins.py."""

from pathlib import Path

import orjson
from chassis.stand_ins import Contract

SERVICES = Path(__file__).parents[3]


def contract(callee: str) -> Contract:
    """The callee's committed contract (services/<callee>/openapi.json)."""
    document = orjson.loads((SERVICES / callee / "openapi.json").read_bytes())
    return Contract(callee, document)
