"""Whether what one side sends fits what the other reads, field by field: a JSON Schema of
the sender against the receiver's, each resolved within its own document (`$ref`s to its
`components` or `$defs`), for the consumer check (`chassis.consumers`).

Formats and patterns are not compared: a tolerant reader need not repeat them, and a
stricter one is its own business. An object the sender leaves open (no properties: a
product cart passes on as catalog sent it) cannot be checked field by field and is not.

Why our own comparison: the subschema checkers on PyPI (jsonsubschema and its forks) are
research prototypes for draft 4 that follow no `$ref` across a document and answer yes or
no, naming no field; pact needs a broker and a mock server per pair. This needs neither.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
MAX_DEPTH = 32  # fields deep: where a recursive schema (a tree) stops being followed


class Fit:
    """The reader's schema against the provider's, each resolved within its own document:
    every value the provider may send must be one the reader takes, and every field the
    reader reads must be one the provider has (required where the reader requires it)."""

    says = "contract"  # what of the provider's says what it sends

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
                f"{self.provider_name}'s {self.says} does not limit the values"
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


class SentFit(Fit):
    """A request body the other way round: the callee's request schema is the reader, the
    caller's model of what it sends the provider. Every field the caller may send must be
    one the callee has (it refuses unknown fields with a 422), and every field the callee
    requires one the caller always sends."""

    says = "model"

    def _object(self, reader: Schema, sent: Schema, at: str) -> list[str]:
        reader = _resolved(self.reader, reader)
        if "properties" not in reader:
            return []  # the callee takes any object here
        taken: Schema = reader["properties"]
        offered: Schema = _resolved(self.provider, sent).get("properties", {})
        always = set(_resolved(self.provider, sent).get("required", []))
        problems: list[str] = []
        for name, value in offered.items():
            here = name if at == "body" else f"{at}.{name}"
            if name not in taken:
                problems.append(
                    f"{self.where}: field {here}: {self.provider_name} sends it, the "
                    f"callee's contract does not take it (422)"
                )
                continue
            problems += self._compare(taken[name], value, here)
        for name in sorted(set(reader.get("required", [])) - always):
            here = name if at == "body" else f"{at}.{name}"
            problems.append(
                f"{self.where}: field {here}: the callee requires it, "
                f"{self.provider_name} may leave it out"
            )
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
