"""What in an `openapi.json` an existing caller depends on, compared with its released one.

Paths are matched with their parameters' names left out (`/v1/orders/{id}` is the same path
as `/v1/orders/{order_id}`: a caller sends a value, not the name). For each operation the
released contract had: its parameters and request body (old callers' requests must still be
accepted), its success statuses (a caller reads the 2xx it knows: one removed, or a new one
beside it, changes what an answer means) and, for every status both have, its media types
and bodies (the new answers must read as the old ones did). New paths, operations, error
statuses and optional inputs are additions, and fine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mosaic.compat.schemas import Break, Comparison, Document, Schema

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_TEMPLATE = re.compile(r"\{[^}]*\}")


def compare_openapi(contract: str, old: Schema, new: Schema) -> list[Break]:
    olddoc, newdoc = Document(old), Document(new)
    requests = Comparison(olddoc, newdoc, "request")
    responses = Comparison(olddoc, newdoc, "response")
    breaks: list[Break] = []
    new_paths = {_TEMPLATE.sub("{}", path): item for path, item in new.get("paths", {}).items()}
    for path, item in old.get("paths", {}).items():
        new_item = new_paths.get(_TEMPLATE.sub("{}", path))
        if new_item is None:
            breaks.append(Break(f"{contract}: {path}", "removed path", _keep_it(path)))
            continue
        for method in METHODS:
            if method not in item:
                continue
            where = f"{contract}: {method.upper()} {path}"
            if method not in new_item:
                breaks.append(Break(where, "removed operation", _keep_it(path)))
                continue
            old_op, new_op = olddoc.locate(item[method]), newdoc.locate(new_item[method])
            breaks += _parameters(where, method, olddoc, newdoc, (item, new_item), requests)
            breaks += _body(where, old_op.schema, new_op.schema, olddoc, newdoc, requests)
            breaks += _responses(where, old_op.schema, new_op.schema, olddoc, newdoc, responses)
    return breaks + requests.breaks + responses.breaks


def _keep_it(path: str) -> str:
    return f"callers of the released contract call it; keep {path} beside any new version"


def _parameters(
    where: str,
    method: str,
    olddoc: Document,
    newdoc: Document,
    items: tuple[Schema, Schema],
    requests: Comparison,
) -> list[Break]:
    breaks: list[Break] = []
    old, new = _declared(olddoc, items[0], method), _declared(newdoc, items[1], method)
    for (place, name), param in new.items():
        if place == "path":
            continue  # paths are matched by their shape: the path's check covers them
        at = f"{where}: {place} parameter {name}"
        was = old.get((place, name))
        if param.get("required") and (was is None or not was.get("required")):
            kind = "new required parameter" if was is None else "parameter made required"
            breaks.append(Break(at, kind, "callers of the released contract do not send it"))
        if was is not None:
            requests.compare(
                olddoc.locate(was.get("schema", {})), newdoc.locate(param.get("schema", {})), at
            )
    for place, name in old.keys() - new.keys():
        if place != "path":
            at = f"{where}: {place} parameter {name}"
            breaks.append(Break(at, "removed parameter", "callers still send it"))
    return breaks


def _declared(document: Document, item: Schema, method: str) -> dict[tuple[str, str], Schema]:
    """An operation's parameters (with its path item's), by where they go and their name."""
    listed = [*item.get("parameters", ()), *item.get(method, {}).get("parameters", ())]
    found: dict[tuple[str, str], Schema] = {}
    for param in listed:
        schema = document.locate(param).schema
        found[(str(schema.get("in")), str(schema.get("name")))] = schema
    return found


def _body(
    where: str,
    old: Schema,
    new: Schema,
    olddoc: Document,
    newdoc: Document,
    requests: Comparison,
) -> list[Break]:
    old_body = olddoc.locate(old.get("requestBody", {})).schema
    new_body = newdoc.locate(new.get("requestBody", {})).schema
    at = f"{where}: request"
    if not old_body:
        if new_body.get("required"):
            return [Break(at, "new required request body", "callers send none")]
        return []
    if not new_body:
        return [Break(at, "removed request body", "callers still send one")]
    breaks = []
    if new_body.get("required") and not old_body.get("required"):
        breaks.append(Break(at, "request body made required", "callers may send none"))
    return breaks + _media(at, old_body, new_body, requests)


def _responses(
    where: str,
    old: Schema,
    new: Schema,
    olddoc: Document,
    newdoc: Document,
    responses: Comparison,
) -> list[Break]:
    old_answers: Mapping[str, Any] = old.get("responses", {})
    new_answers: Mapping[str, Any] = new.get("responses", {})
    breaks = []
    old_ok, new_ok = _successes(old_answers), _successes(new_answers)
    if old_ok != new_ok:
        detail = f"{_listed(old_ok)} -> {_listed(new_ok)}: callers read the success they know"
        breaks.append(Break(f"{where}: responses", "success status changed", detail))
    for status in sorted(old_answers.keys() & new_answers.keys()):
        old_answer = olddoc.locate(old_answers[status]).schema
        new_answer = newdoc.locate(new_answers[status]).schema
        breaks += _media(f"{where}: response {status}", old_answer, new_answer, responses)
    return breaks


def _media(at: str, old: Schema, new: Schema, comparison: Comparison) -> list[Break]:
    """A body's media types (each the old one had must stay) and, for each, its schema."""
    new_content: Mapping[str, Any] = new.get("content", {})
    verb = "send" if comparison.direction == "request" else "read"
    breaks = []
    for media, old_media in old.get("content", {}).items():
        if media not in new_content:
            detail = f"callers {verb} {media}; the new contract has {_listed(new_content)}"
            breaks.append(Break(at, "media type changed", detail))
            continue
        old_schema = comparison.old.locate(old_media.get("schema", {}))
        new_schema = comparison.new.locate(new_content[media].get("schema", {}))
        comparison.compare(old_schema, new_schema, f"{at} {media} body")
    return breaks


def _successes(answers: Mapping[str, Any]) -> list[str]:
    return sorted(status for status in answers if status.startswith("2") or status == "2XX")


def _listed(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"
