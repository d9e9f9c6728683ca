"""The services' committed contracts (services/<name>/openapi.json) as tests read them: every
operation that takes a JSON body, and a valid instance of a schema, made from the schema
alone (its examples first), for tests generated from the contracts rather than written per
route."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Schema = dict[str, Any]

WRITE_METHODS = ("post", "put", "patch")
# Tried in order for a string with a pattern and no example that fits it.
_CANDIDATES = ("a", "USD", "DE", "ada@example.com", "a:a", "standard", "1")


@dataclass(frozen=True)
class Operation:
    service: str
    method: str  # lower case, as in the document
    path: str  # the template, e.g. /v1/carts/{cart_id}/items
    spec: Schema
    components: Schema

    @property
    def name(self) -> str:
        return f"{self.service} {self.method.upper()} {self.path}"

    @property
    def body_schema(self) -> Schema | None:
        body = self.spec.get("requestBody")
        if body is None:
            return None
        return self.resolve(body["content"]["application/json"]["schema"])

    @property
    def needs_user(self) -> bool:
        return any("UserAccessToken" in entry for entry in self.spec.get("security", []))

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def parameters(self, where: str) -> dict[str, Any]:
        """A valid value of every parameter `in` where (path, header, query) that is
        required or shows an example (an optional owner header, e.g. x-visitor-id)."""
        found = {}
        for parameter in self.spec.get("parameters", []):
            schema = {**parameter["schema"], **_examples(parameter)}
            if parameter["in"] == where and (parameter.get("required") or "examples" in schema):
                found[parameter["name"]] = self.example(schema)
        return found

    def url(self) -> str:
        path = self.path
        for name, value in self.parameters("path").items():
            path = path.replace("{" + name + "}", str(value))
        return path

    def example(self, schema: Schema) -> Any:
        """A value the schema accepts: only required properties, the smallest arrays."""
        schema = self.resolve(schema)
        if "examples" in schema:
            return schema["examples"][0]
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        if options := schema.get("anyOf") or schema.get("oneOf"):
            chosen = next((o for o in options if o.get("type") != "null"), options[0])
            return self.example(chosen)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            return {name: self.example(properties[name]) for name in schema.get("required", [])}
        if kind == "array":
            return [self.example(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
        if kind == "integer":
            if "minimum" in schema:
                return int(schema["minimum"])
            return int(schema.get("exclusiveMinimum", 0)) + 1
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if kind == "string":
            return _string(schema)
        raise AssertionError(f"{self.name}: no example for schema {schema}")


def _examples(parameter: Schema) -> Schema:
    if "example" in parameter:
        return {"examples": [parameter["example"]]}
    if "examples" in parameter and isinstance(parameter["examples"], list):
        return {"examples": parameter["examples"]}
    return {}


def _string(schema: Schema) -> str:
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    least, most = schema.get("minLength", 0), schema.get("maxLength", 1 << 30)
    pattern = schema.get("pattern")
    for candidate in _CANDIDATES:
        if least <= len(candidate) <= most and (pattern is None or re.search(pattern, candidate)):
            return candidate
    raise AssertionError(f"no example string for {schema}; add a candidate that fits it")


def contract(root: Path, service: str) -> Schema:
    document: Schema = json.loads((root / "services" / service / "openapi.json").read_text())
    return document


def operations(root: Path) -> Iterator[Operation]:
    """Every operation of every service's committed contract."""
    for path in sorted((root / "services").glob("*/openapi.json")):
        service = path.parent.name
        document = contract(root, service)
        components = document.get("components", {}).get("schemas", {})
        for template, methods in document["paths"].items():
            for method, spec in methods.items():
                yield Operation(service, method, template, spec, components)


def json_body_operations(root: Path) -> list[Operation]:
    """Every operation that takes a JSON body (POST, PUT and PATCH with a requestBody)."""
    return [
        op
        for op in operations(root)
        if op.method in WRITE_METHODS and "application/json" in _content(op.spec)
    ]


def _content(spec: Schema) -> Schema:
    body: Schema = spec.get("requestBody", {})
    content: Schema = body.get("content", {})
    return content
