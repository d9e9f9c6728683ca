"""What a caller reads of its callees, declared beside its clients, and the check of every
read against the callee's committed contract (`openapi.json`, `events/<Type>.v<N>.json`).

A caller lists its calls in its `reads.py`: `Call(callee, method, path, reply)`, where
`reply` is the model it validates the answer with (a pydantic model, a dataclass, any type
pydantic builds a JSON Schema of), and `EventRead(producer, type, version, data)` for an
event it reads. The models are the ones its clients use, so the declaration is what the
code reads, not a list beside it. Checked, one line per defect naming both sides:

- the path exists in the callee's contract, and the method on it;
- every field the reader requires is in the provider's schema and required there; every
  optional field it reads exists there;
- the types agree: each type the provider may send (null too) is one the reader accepts
  (an integer reads as a number);
- every enum value the provider may send is one the reader knows; a reader that takes any
  string tolerates new values explicitly;
- (`Reads.undeclared`) every route a caller's tests called on a stand-in is declared.

Formats and patterns are not compared: a tolerant reader need not repeat them, and a
stricter one is its own business. An object the provider leaves open (no properties: a
product cart passes on as catalog sent it) cannot be checked field by field and is not.

Why our own comparison: the subschema checkers on PyPI (jsonsubschema and its forks) are
research prototypes for draft 4 that follow no `$ref` across a document and answer yes or
no, naming no field; pact needs a broker and a mock server per pair. This needs neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

Schema = dict[str, Any]
MAX_DEPTH = 32  # fields deep: where a recursive schema (a tree) stops being followed


def route_shape(template: str) -> str:
    """A path template with its parameters unnamed: `/v1/carts/{}` for `{cart_id}`."""
    return re.sub(r"\{[^}]*\}", "{}", template)


@dataclass(frozen=True)
class Call:
    """One call a caller makes, and the model it reads the answer with (None: only the
    status). `status`: the answer it reads, by default the contract's first 2xx."""

    callee: str
    method: str
    path: str
    reply: Any = None
    status: int | None = None
    # Optional fields of the reply model this callee never sends (`items[].tags`), where a
    # model shared with another callee's answers keeps its default: said, not overlooked.
    defaulted: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventRead:
    """One event a consumer reads, and the model it validates the event's `data` with."""

    producer: str
    type: str
    version: int
    data: Any


@dataclass(frozen=True)
class Reads:
    """Everything one caller reads of the others: its `reads.py` names one of these."""

    caller: str
    calls: tuple[Call, ...] = ()
    events: tuple[EventRead, ...] = field(default=())

    def callees(self) -> set[str]:
        return {call.callee for call in self.calls}

    def producers(self) -> set[str]:
        return {event.producer for event in self.events}

    def check(
        self,
        openapi: Callable[[str], Schema],
        event_schema: Callable[[str, str, int], Schema | None],
    ) -> list[str]:
        """Every defect of every read, given the callees' contracts (`openapi(callee)`, and
        `event_schema(producer, type, version)`, None when the producer has no such file)."""
        problems: list[str] = []
        for call in self.calls:
            problems += check_call(self.caller, call, openapi(call.callee))
        for event in self.events:
            schema = event_schema(event.producer, event.type, event.version)
            problems += check_event(self.caller, event, schema)
        return problems

    def undeclared(self, callee: str, called: Iterable[tuple[str, str]]) -> list[str]:
        """Each (method, route) called on `callee` (a stand-in's recorded answers) that
        this caller's reads do not declare."""
        declared = {
            (call.method.upper(), route_shape(call.path))
            for call in self.calls
            if call.callee == callee
        }
        return sorted(
            {
                f"{self.caller} calls {callee}'s {method} {route}, which "
                f"{self.caller}'s reads.py does not declare"
                for method, route in called
                if (method.upper(), route_shape(route)) not in declared
            }
        )


def check_call(caller: str, call: Call, document: Schema) -> list[str]:
    """The defects of one call against the callee's `openapi.json`."""
    where = f"{caller} -> {call.callee} {call.method.upper()} {call.path}"
    paths = {route_shape(path): path for path in document.get("paths", {})}
    path = paths.get(route_shape(call.path))
    if path is None:
        return [f"{where}: {call.callee}'s openapi.json has no such path"]
    operation = document["paths"][path].get(call.method.lower())
    if operation is None:
        return [f"{where}: {call.callee}'s openapi.json has no {call.method.upper()} on it"]
    if call.reply is None:
        return []
    responses = operation.get("responses", {})
    success = sorted(status for status in responses if status.startswith("2"))
    wanted = str(call.status) if call.status else next(iter(success), "")
    content = responses.get(wanted, {}).get("content", {})
    if "application/json" not in content:
        return [f"{where}: {call.callee} answers no JSON body for status {wanted or '2xx'}"]
    provider = {
        **content["application/json"]["schema"],
        "components": document.get("components", {}),
    }
    comparison = _Comparison(where, call.callee, reader_schema(call.reply), provider)
    return comparison.problems(set(call.defaulted))


def check_event(caller: str, event: EventRead, document: Schema | None) -> list[str]:
    """The defects of one event reader against the producer's event schema."""
    where = f"{caller} <- {event.producer} {event.type} v{event.version}"
    if document is None:
        return [f"{where}: {event.producer} documents no such event"]
    properties = document.get("properties", {})
    if "data" not in properties or "data" not in document.get("required", []):
        return [f"{where}: the event schema has no required data"]
    provider = {**properties["data"], "$defs": document.get("$defs", {})}
    return _Comparison(where, event.producer, reader_schema(event.data), provider).problems(set())


def reader_schema(model: Any) -> Schema:
    """The JSON Schema of what a model accepts, as pydantic validates it."""
    schema: Schema = TypeAdapter(model).json_schema(mode="validation")
    return schema


class _Comparison:
    """The reader's schema against the provider's, each resolved within its own document."""

    def __init__(self, where: str, provider_name: str, reader: Schema, provider: Schema) -> None:
        self.where = where
        self.provider_name = provider_name
        self.reader = reader
        self.provider = provider
        self.defaulted: set[str] = set()

    def problems(self, defaulted: set[str]) -> list[str]:
        self.defaulted = defaulted
        return self._compare(self.reader, self.provider, "body")

    def _compare(self, reader: Schema, provider: Schema, at: str) -> list[str]:
        readers = _branches(self.reader, reader)
        deep = at.count(".") + at.count("[") > MAX_DEPTH  # a recursive schema, followed enough
        if deep or any(not _types(branch) for branch in readers):
            return []  # (or the reader takes anything here)
        problems: list[str] = []
        for sent in _branches(self.provider, provider):
            for kind in sorted(_types(sent)):
                accepting = [r for r in readers if _accepts(r, kind)]
                if not accepting:
                    accepted = "/".join(sorted(t for r in readers for t in _types(r)))
                    problems.append(
                        f"{self.where}: field {at}: {self.provider_name} may send {kind}, "
                        f"the reader takes {accepted}"
                    )
                    continue
                problems += self._values(accepting, sent, at)
                if kind == "object":
                    problems += self._object(accepting[0], sent, at)
                elif kind == "array" and "items" in sent:
                    problems += self._compare(
                        accepting[0].get("items", {}), sent["items"], at + "[]"
                    )
        return problems

    def _values(self, readers: list[Schema], sent: Schema, at: str) -> list[str]:
        known = [_enum(reader) for reader in readers]
        if any(values is None for values in known):
            return []  # a reader that takes any value of the type tolerates new ones
        allowed = {repr(value) for values in known for value in values or ()}
        knows = ", ".join(sorted(allowed))
        sendable = _enum(sent)
        if sendable is None:
            return [
                f"{self.where}: field {at}: the reader knows only {knows}, and "
                f"{self.provider_name}'s contract does not limit the values"
            ]
        unknown = sorted({repr(value) for value in sendable} - allowed)
        if unknown:
            return [
                f"{self.where}: field {at}: {self.provider_name} may send "
                f"{', '.join(unknown)}, an enum value the reader does not know"
            ]
        return []

    def _object(self, reader: Schema, sent: Schema, at: str) -> list[str]:
        reader = _resolved(self.reader, reader)
        if "properties" not in sent:
            return []  # open: passed through as the provider's own source sent it
        offered: Schema = sent["properties"]
        promised = set(sent.get("required", []))
        needed = set(reader.get("required", []))
        problems: list[str] = []
        for name, wanted in reader.get("properties", {}).items():
            here = name if at == "body" else f"{at}.{name}"
            if name not in offered and here in self.defaulted and name not in needed:
                continue
            if name not in offered:
                problems.append(
                    f"{self.where}: field {here}: the reader reads it, "
                    f"{self.provider_name}'s contract does not have it"
                )
                continue
            if name in needed and name not in promised:
                problems.append(
                    f"{self.where}: field {here}: the reader requires it, "
                    f"{self.provider_name}'s contract makes it optional"
                )
            problems += self._compare(wanted, offered[name], here)
        return problems


def _resolved(root: Schema, node: Schema) -> Schema:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    if "allOf" in node and len(node["allOf"]) == 1:  # a `$ref` with a description beside it
        return _resolved(root, node["allOf"][0])
    return node


def _branches(root: Schema, node: Schema) -> list[Schema]:
    """The alternatives a schema allows (anyOf/oneOf flattened), each resolved."""
    node = _resolved(root, node)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if not alternatives:
        return [node]
    return [branch for each in alternatives for branch in _branches(root, each)]


def _types(node: Schema) -> set[str]:
    """The JSON types a schema node allows; empty when it says nothing (any value)."""
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = _enum(node)
    if values is not None:
        return {_json_type(value) for value in values}
    if "properties" in node:
        return {"object"}
    return set()


def _accepts(reader: Schema, kind: str) -> bool:
    types = _types(reader)
    return kind in types or (kind == "integer" and "number" in types)


def _enum(node: Schema) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    values: list[Any] | None = node.get("enum")
    return values


def _json_type(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else "boolean"
    names = {int: "integer", float: "number", list: "array", dict: "object"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "string")
