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

A call that sends a body says with what: `Call(..., sends=Model)`, the model (or TypedDict)
its client builds the body from. Checked the other way round: every field the caller may
send is in the callee's request schema (accounts, like every service, refuses unknown
fields: 422), with a type it takes, and every field the callee requires the caller always
sends. So a request field leaves a provider's contract only once no caller sends it
(expand/contract, docs/operations.md), and a caller cannot start sending one the provider
does not take. The field-by-field comparison is `chassis.schema_fit`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from chassis.schema_fit import Fit, Schema, SentFit


def route_shape(template: str) -> str:
    """A path template with its parameters unnamed: `/v1/carts/{}` for `{cart_id}`."""
    return re.sub(r"\{[^}]*\}", "{}", template)


@dataclass(frozen=True)
class Call:
    """One call a caller makes, and the model it reads the answer with (None: only the
    status). `status`: the answer it reads, by default the contract's first 2xx. `sends`:
    the model of the JSON body it sends (None: no body, or one not declared yet)."""

    callee: str
    method: str
    path: str
    reply: Any = None
    status: int | None = None
    # Optional fields of the reply model this callee never sends (`items[].tags`), where a
    # model shared with another callee's answers keeps its default: said, not overlooked.
    defaulted: tuple[str, ...] = ()
    sends: Any = None


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
    problems = [] if call.sends is None else check_sent(caller, call, operation, document)
    if call.reply is None:
        return problems
    responses = operation.get("responses", {})
    success = sorted(status for status in responses if status.startswith("2"))
    wanted = str(call.status) if call.status else next(iter(success), "")
    content = responses.get(wanted, {}).get("content", {})
    if "application/json" not in content:
        return [
            *problems,
            f"{where}: {call.callee} answers no JSON body for status {wanted or '2xx'}",
        ]
    provider = {
        **content["application/json"]["schema"],
        "components": document.get("components", {}),
    }
    comparison = Fit(where, call.callee, reader_schema(call.reply), provider)
    return problems + comparison.problems(set(call.defaulted))


def check_sent(caller: str, call: Call, operation: Schema, document: Schema) -> list[str]:
    """The defects of the body a caller sends against the callee's request schema."""
    where = f"{caller} -> {call.callee} {call.method.upper()} {call.path}: request"
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is None:
        return [f"{where}: {call.callee} takes no JSON body here"]
    callee = {**body.get("schema", {}), "components": document.get("components", {})}
    sent: Schema = TypeAdapter(call.sends).json_schema(mode="serialization")
    return SentFit(where, caller, callee, sent).problems(set())


def check_event(caller: str, event: EventRead, document: Schema | None) -> list[str]:
    """The defects of one event reader against the producer's event schema."""
    where = f"{caller} <- {event.producer} {event.type} v{event.version}"
    if document is None:
        return [f"{where}: {event.producer} documents no such event"]
    properties = document.get("properties", {})
    if "data" not in properties or "data" not in document.get("required", []):
        return [f"{where}: the event schema has no required data"]
    provider = {**properties["data"], "$defs": document.get("$defs", {})}
    return Fit(where, event.producer, reader_schema(event.data), provider).problems(set())


def reader_schema(model: Any) -> Schema:
    """The JSON Schema of what a model accepts, as pydantic validates it."""
    schema: Schema = TypeAdapter(model).json_schema(mode="validation")
    return schema
