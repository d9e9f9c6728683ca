"""The breaking-change check: each contract now against the newest released one.

An event schema is compared both ways. Readers of the released schema read new events (as
a response is read), and readers built on the new schema read the events written before
(still in the stream, among the dead letters, replayed): so a field made required breaks as
much as one removed. A new version (`OrderConfirmed.v2.json`) is a new file beside the old
one, which stays as long as it is in the baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

from mosaic.compat.openapi import compare_openapi
from mosaic.compat.released import Version, current, newest
from mosaic.compat.schemas import Break, Comparison, Document, Schema
from mosaic.errors import MosaicError

SAFELY = (
    "Make the change additive (a new optional field, a new path or operation), or add the "
    "new shape beside the old one: /v2/... beside /v1/..., Type.v2.json beside Type.v1.json, "
    "both served until every caller has moved. See docs/operations.md, "
    "'Changing an API or an event safely'."
)


def check(root: Path) -> tuple[Version, list[Break]]:
    """The newest released version and every break of the current contracts against it."""
    baseline = newest(root)
    if baseline is None:
        raise MosaicError(
            "no released contracts to check against (contracts/released/ has no version)",
            "Record the contracts as they are with: mosaic contracts release v0.1.0",
        )
    version, released = baseline
    now = current(root)
    breaks: list[Break] = []
    for relative, old in released.items():
        new = now.get(relative)
        name = f"services/{relative}"
        if new is None:
            kind = "removed event schema" if "/events/" in relative else "removed contract"
            detail = f"it is in the released {version}: keep it (and serve it) beside any new one"
            breaks.append(Break(name, kind, detail))
        elif old != new:
            try:
                breaks += compare(name, _json(name, old, version), _json(name, new, None))
            except ValueError as error:  # a $ref that points nowhere, or outside the file
                raise MosaicError(
                    f"{name} cannot be compared with the released {version}: {error}",
                    "Regenerate it from the code (python -m <service>.openapi or .events).",
                ) from None
    return version, breaks


def compare(name: str, old: Schema, new: Schema) -> list[Break]:
    """The breaks between two versions of one contract, as found."""
    if "openapi" in old:
        return compare_openapi(name, old, new)
    found: dict[tuple[str, str], Break] = {}
    for direction in ("response", "request"):
        comparison = Comparison(Document(old), Document(new), direction)
        comparison.compare(comparison.old.locate(old), comparison.new.locate(new), f"{name}: event")
        for one in comparison.breaks:
            found.setdefault((one.where, one.kind), one)
    return list(found.values())


def _json(name: str, content: bytes, version: Version | None) -> Schema:
    try:
        document = json.loads(content)
    except ValueError as error:  # not JSON, or not UTF-8
        where = f"the released {version}" if version else "the workspace"
        raise MosaicError(f"{name} in {where} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise MosaicError(f"{name} is not a JSON object")
    return document


def report(version: Version, breaks: list[Break]) -> str:
    """What broke, one line each, then how to make the change safely."""
    lines = [f"{len(breaks)} change(s) would break callers of the released {version}:"]
    lines += [f"  {one}" for one in sorted(breaks)]
    return "\n".join([*lines, SAFELY])
