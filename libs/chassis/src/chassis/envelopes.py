"""What a producer writes and publishes about its events: the envelope as written to its
outbox (`OutboxEvent`), and the JSON Schemas of its versioned envelopes, committed under
`services/<producer>/events/` (`schema`, and `main` behind `python -m <producer>.events`).

Envelope (chassis.events.Event): {"id", "type", "version", "occurred_at", "data"}.
Compatibility (tolerant reader): consumers ignore fields they do not know, so a version
may gain *optional* fields; anything else is a new version with a new model and file. The
published schemas therefore do not forbid unknown properties; what a producer writes is
checked strictly against its models.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event as written to the outbox, in the same transaction as the state change."""

    type: str
    version: int
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


class Payload(BaseModel):
    """The base of a producer's event payload models: what it writes is checked strictly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvelopeV1(BaseModel):
    """The base of a producer's version-1 envelope models (each adds `type` and `data`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    version: Literal[1]
    occurred_at: AwareDatetime


Envelopes = Mapping[tuple[str, int], type[BaseModel]]


def schema(producer: str, kind: str, version: int, model: type[BaseModel]) -> bytes:
    """The JSON Schema of an event's envelope, as committed."""
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://mosaic.dev/events/{producer}/{kind}.v{version}.json",
        **_tolerant(model.model_json_schema()),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _tolerant(node: Any) -> Any:
    """Without `additionalProperties: false`: readers accept later optional fields."""
    if isinstance(node, dict):
        return {
            key: _tolerant(value)
            for key, value in node.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(node, list):
        return [_tolerant(item) for item in node]
    return node


def schema_path(folder: Path, kind: str, version: int) -> Path:
    return folder / f"{kind}.v{version}.json"


def main(producer: str, envelopes: Envelopes, folder: Path, argv: list[str]) -> int:
    """Rewrite the committed schemas, or (`--check`) say which are out of date."""
    stale = []
    for (kind, version), model in envelopes.items():
        path, current = schema_path(folder, kind, version), schema(producer, kind, version, model)
        if "--check" in argv:
            if not path.exists() or path.read_bytes() != current:
                stale.append(path.name)
            continue
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(current)
        print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run: python -m {producer}.events", file=sys.stderr)
        return 1
    return 0
