"""Tracing in the in-process host (`chassis.host`): each hosted service's spans under its
own name.

An OpenTelemetry resource (which names the service) belongs to a tracer provider, and a
process has one global provider: left at that, every span of the host named its service
`in-process`, and the runner's receiver and the dashboard could not tell catalog's spans
from the frontend's. So the host installs `HostedProviders` as the global provider: one
real provider per hosted service (its own resource, sampler and exporter, as in a process
of its own), and tracers that pick, for each span as it starts, the provider of the service
whose work is running (`serve_as`, set by the host in each service's tasks and around each
request its app handles; in-process calls run the callee's app through the same wrapper).
The instrumentations (SQLAlchemy, redis) and the chassis's own spans take their tracers from
the global provider, so they follow without knowing. Outside any service's work (the host's
own start-up) the host's provider, named `in-process`, is used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span
from opentelemetry.util._decorator import _agnosticcontextmanager
from opentelemetry.util.types import Attributes

from chassis import tracing

_serving: ContextVar[str | None] = ContextVar("hosted_service", default=None)


class HostedProviders(trace.TracerProvider):
    """The global provider of the in-process host: a provider per service, chosen per span."""

    def __init__(
        self, default: TracerProvider, make: Callable[[str], TracerProvider] | None = None
    ) -> None:
        self.default = default
        self.make = make or (
            lambda service: tracing.new_provider(service, "in-process", hosted=True)
        )
        self._providers: dict[str, TracerProvider] = {}
        self._lock = threading.Lock()

    def provider(self) -> TracerProvider:
        """The provider of the service whose work is running (the host's outside any)."""
        service = _serving.get()
        if service is None:
            return self.default
        provider = self._providers.get(service)
        if provider is None:
            with self._lock:
                provider = self._providers.setdefault(service, self.make(service))
        return provider

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        return _RoutedTracer(self, instrumenting_module_name, instrumenting_library_version)


class _RoutedTracer(trace.Tracer):
    def __init__(self, providers: HostedProviders, name: str, version: str | None) -> None:
        self.providers = providers
        self.name = name
        self.version = version
        self._tracers: dict[int, trace.Tracer] = {}

    def _tracer(self) -> trace.Tracer:
        provider = self.providers.provider()
        tracer = self._tracers.get(id(provider))
        if tracer is None:
            tracer = self._tracers[id(provider)] = provider.get_tracer(self.name, self.version)
        return tracer

    # The API's own arguments, passed through unchanged to the chosen provider's tracer.
    def start_span(self, *args: Any, **kwargs: Any) -> Span:
        return self._tracer().start_span(*args, **kwargs)

    @_agnosticcontextmanager  # what the API's own tracers use, so the types match
    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Iterator[Span]:
        with self._tracer().start_as_current_span(*args, **kwargs) as span:
            yield span


def serve_as(service: str) -> Token[str | None]:
    """The spans started from here on in this context are `service`'s."""
    return _serving.set(service)


def configure_hosted_tracing() -> None:
    """The host's tracing: `HostedProviders` as the global provider, its default (the
    host's own work) named `in-process`."""
    tracing.configure_tracing("in-process", "in-process", providers=HostedProviders)
