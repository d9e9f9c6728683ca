"""Whether the values a JSON Schema allows still fit where the old schema's values went.

Every comparison has a writer and a reader. A request is written by an existing caller (to
the old schema) and read by the new service: every value the old schema allowed must still
be accepted. A response, or an event, is written by the new service and read by an existing
caller (who read the old schema): every value the new schema allows must be one the old
schema promised. So one rule serves both: the writer's values must fit the reader's schema,
and only the wording of a break depends on the direction.

What "fit" covers (what FastAPI and pydantic write into the contracts): `$ref` (also to the
`$defs` an embedded pydantic schema carries), `anyOf`/`oneOf` branches by kind (FastAPI's
optional field is `anyOf: [X, {type: null}]`), `type` (an integer fits a number), `enum` and
`const`, `format`, `pattern`, the length, size and range limits, object properties (required
or not) and array items. A response gaining an enum value is a break: a caller that switches
on the value (orders' `status`) meets one it has no branch for. A request field the new
schema no longer has is a break too: callers still send it, and the services refuse unknown
fields (422); unless the released schema marked it `deprecated` and optional, which told
callers to stop sending it (expand/contract's last step; that none still does is the
consumer check's to prove, `chassis.consumers`' `sends`). A new field in an answer or an
event is never one, even where the schema says `additionalProperties: false` (FastAPI
writes that for a model that requests share): the callers' models and the event readers
ignore fields they do not know.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Schema = Mapping[str, Any]
Direction = Literal["request", "response"]

# A reader's limit that the writer's values may exceed: (keyword, "reader is tighter than").
_LIMITS: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
    ("maxLength", operator.lt),
    ("maxItems", operator.lt),
    ("maxProperties", operator.lt),
    ("maximum", operator.lt),
    ("exclusiveMaximum", operator.lt),
    ("minLength", operator.gt),
    ("minItems", operator.gt),
    ("minProperties", operator.gt),
    ("minimum", operator.gt),
    ("exclusiveMinimum", operator.gt),
    ("multipleOf", operator.ne),
)


@dataclass(frozen=True, order=True)
class Break:
    """One change that breaks an existing caller: where (contract, operation, field), what."""

    where: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Located:
    """A schema, the innermost schema around it that declares `$defs`, and its `$ref`."""

    schema: Schema
    scope: Schema
    ref: str | None = None


class Document:
    """A contract's JSON, in which `$ref`s are resolved: `#/a/b` from the document's root,
    and `#/$defs/X` first from the embedded schema that declares those `$defs`."""

    def __init__(self, root: Schema) -> None:
        self.root = root

    def locate(self, node: Any, around: Located | None = None) -> Located:
        scope = around.scope if around is not None else self.root
        seen: set[str] = set()
        ref = None
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise ValueError(f"$ref cycle at {ref}")
            seen.add(ref)
            node = self._pointer(ref, scope)
        schema: Schema = node if isinstance(node, Mapping) else {}
        return Located(schema, schema if "$defs" in schema else scope, ref)

    def _pointer(self, ref: str, scope: Schema) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are read, not {ref}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
        for base in (scope, self.root):
            node: Any = base
            for part in parts:
                node = node.get(part) if isinstance(node, Mapping) else None
            if node is not None:
                return node
        raise ValueError(f"$ref {ref} points at nothing")


@dataclass
class Comparison:
    """Compares schemas of one contract in one direction, collecting the breaks; a pair of
    named schemas (`$ref`s) is compared once, where it is first met."""

    old: Document
    new: Document
    direction: Direction
    breaks: list[Break] = field(default_factory=list)
    _seen: set[tuple[int, int]] = field(default_factory=set)  # ids of named schemas met

    @property
    def _request(self) -> bool:
        """Whether the writer is the old side (a caller) and the reader the new one."""
        return self.direction == "request"

    def compare(self, old: Located, new: Located, where: str) -> None:
        if old.ref is not None and new.ref is not None:
            # By the schemas themselves: the same `#/$defs/X` may name another schema in
            # another embedded scope.
            pair = (id(old.schema), id(new.schema))
            if pair in self._seen:
                return
            self._seen.add(pair)
        if self._request:
            self._fit(old, new, where)
        else:
            self._fit(new, old, where)

    def _then(self, writer: Located, reader: Located, where: str) -> None:
        """Compare a writer's and a reader's inner schemas (given in that order)."""
        if self._request:
            self.compare(writer, reader, where)
        else:
            self.compare(reader, writer, where)

    def _locate(
        self, writer: Located, reader: Located, wnode: Any, rnode: Any
    ) -> tuple[Located, Located]:
        wdoc, rdoc = (self.old, self.new) if self._request else (self.new, self.old)
        return wdoc.locate(wnode, writer), rdoc.locate(rnode, reader)

    def _add(self, where: str, kind: str, detail: str) -> None:
        self.breaks.append(Break(where, kind, detail))

    def _fit(self, writer: Located, reader: Located, where: str) -> None:
        """Every value the writer's schema allows must be accepted by the reader's."""
        writers = _kinds(self.old if self._request else self.new, writer)
        readers = _kinds(self.new if self._request else self.old, reader)
        for kind, written in writers.items():
            read = _accepting(kind, readers)
            if read is None:
                if self._request:
                    detail = f"no longer accepts {kind} (accepts {_names(readers)})"
                    self._add(where, "type narrowed", detail)
                else:
                    detail = f"may now be {kind} (was {_names(readers)})"
                    self._add(where, "type changed", detail)
                continue
            if written.ref is not None and read.ref is not None and read.ref != reader.ref:
                self._then(written, read, where)  # a branch that is a named schema
                continue
            self._values(written.schema, read.schema, where)
            self._object(written, read, where)
            for wnode, rnode, at in (
                (written.schema.get("items"), read.schema.get("items"), f"{where}[]"),
                (
                    written.schema.get("additionalProperties"),
                    read.schema.get("additionalProperties"),
                    f"{where}.*",
                ),
            ):
                if isinstance(wnode, Mapping) and isinstance(rnode, Mapping):
                    self._then(*self._locate(written, read, wnode, rnode), at)

    def _values(self, writer: Schema, reader: Schema, where: str) -> None:
        read, written = _enum(reader), _enum(writer)
        if read is not None:
            listed = ", ".join(sorted(read))
            if written is None and self._request:
                self._add(where, "values limited", f"only {listed} accepted now")
            elif written is None:
                self._add(where, "values unlimited", f"any value now, was {listed}")
            for value in sorted((written or set()) - read):
                if self._request:
                    self._add(where, "removed enum value", f"{value} is no longer accepted")
                else:
                    reason = "a caller that switches on the value has no case for it"
                    self._add(where, "added enum value", f"{value} ({reason})")
        old, new = (writer, reader) if self._request else (reader, writer)
        for keyword in ("format", "pattern"):
            if keyword in reader and writer.get(keyword) != reader[keyword]:
                detail = f"{old.get(keyword)!r} -> {new.get(keyword)!r}"
                self._add(where, f"{keyword} changed", detail)
        for keyword, tighter in _LIMITS:
            if keyword in reader and (
                keyword not in writer or tighter(reader[keyword], writer[keyword])
            ):
                kind = "limit tightened" if self._request else "limit loosened"
                self._add(where, kind, f"{keyword} {old.get(keyword)} -> {new.get(keyword)}")

    def _object(self, writer: Located, reader: Located, where: str) -> None:
        wprops = writer.schema.get("properties", {})
        rprops = reader.schema.get("properties", {})
        wneed = set(writer.schema.get("required", ()))
        rneed = set(reader.schema.get("required", ()))
        for name, read in rprops.items():
            at = f"{where}.{name}"
            if name not in wprops:
                if not self._request:
                    self._add(at, "removed field", "callers of the released contract read it")
                elif name in rneed:
                    self._add(at, "new required field", "callers of the released one omit it")
                continue
            if name in rneed and name not in wneed:
                if self._request:
                    self._add(at, "field made required", "callers of the released one omit it")
                else:
                    self._add(at, "field made optional", "callers expect it in every answer")
            self._then(*self._locate(writer, reader, wprops[name], read), at)
        if self._request:  # a new field in an answer is no break: readers are tolerant
            for name in wprops.keys() - rprops.keys():
                if name not in wneed and self._deprecated(writer, wprops[name]):
                    continue  # callers were told to stop; the consumer check proves they did
                self._add(f"{where}.{name}", "removed field", "callers still send it (422)")

    def _deprecated(self, writer: Located, node: Any) -> bool:
        """Whether the released contract marked this request field `deprecated` (on the
        property, or on the schema it refers to)."""
        if isinstance(node, Mapping) and node.get("deprecated") is True:
            return True
        return self.old.locate(node, writer).schema.get("deprecated") is True


def _kinds(document: Document, node: Located) -> dict[str, Located]:
    """The branches of a schema by the kind of value each allows (string, null, object...)."""
    branches = node.schema.get("anyOf") or node.schema.get("oneOf")
    if isinstance(branches, list):
        found: dict[str, Located] = {}
        for branch in branches:
            for kind, located in _kinds(document, document.locate(branch, node)).items():
                found.setdefault(kind, located)
        return found
    declared = node.schema.get("type")
    if isinstance(declared, list):
        return {str(k): Located({**node.schema, "type": k}, node.scope, None) for k in declared}
    if declared is None and "const" in node.schema:
        declared = _json_kind(node.schema["const"])
    return {str(declared or "any"): node}


def _accepting(kind: str, readers: Mapping[str, Located]) -> Located | None:
    for accepted in (kind, "number" if kind == "integer" else "", "any"):
        if accepted in readers:
            return readers[accepted]
    return None


def _enum(schema: Schema) -> set[str] | None:
    if "const" in schema:
        return {json.dumps(schema["const"])}
    if isinstance(schema.get("enum"), list):
        return {json.dumps(value) for value in schema["enum"]}
    return None


def _json_kind(value: Any) -> str:
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return kinds.get(type(value), "object" if isinstance(value, dict) else "array")


def _names(kinds: Mapping[str, Located]) -> str:
    return " or ".join(sorted(kinds))
