"""The in-process host's transport (`chassis.host`, the benchmark's floor): a call to a
service whose app is hosted in this process goes to that app directly, with the same
headers, deadline, timeouts and retries as over the network (`chassis.inprocess`). The host
gives it to each client of a service it hosts (`ServiceClient.use`); a client never looks
for it."""

from __future__ import annotations

from chassis import inprocess
from chassis.client_response import Response
from chassis.client_transport import Outgoing
from chassis.security import Credentials
from chassis.tls import spiffe_id


class InProcessTransport:
    def __init__(self, target: inprocess.Target) -> None:
        self.target = target

    async def exchange(self, outgoing: Outgoing, budget: float) -> Response:
        status, answer, content = await self.target.call(
            outgoing.method, outgoing.path, outgoing.query, outgoing.headers, outgoing.body, budget
        )
        return Response(status, answer, content)

    def failure_reason(self, error: Exception) -> str | None:
        return error.reason if isinstance(error, inprocess.Unreachable) else None


def hosted_transport(
    hosted: inprocess.Hosted, base_url: str, credentials: Credentials | None
) -> InProcessTransport:
    """The way to `hosted`'s app for a client of `base_url` calling with `credentials`."""
    # mTLS would have proven our certificate's identity to the callee; here the host knows
    # it for sure: these are our own credentials.
    https = base_url.startswith("https://")
    identity = spiffe_id(credentials.service) if https and credentials is not None else None
    return InProcessTransport(inprocess.Target(hosted, base_url, identity))
