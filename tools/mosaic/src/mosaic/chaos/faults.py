"""What can go wrong on a hop, as data: the proxy (mosaic.chaos.proxy) reads the hop's
current Fault for every chunk it forwards, so switching one takes effect at once, also on
connections already open.

- none: bytes pass as they come;
- latency: every chunk from the callee arrives `latency_ms` ± `jitter_ms` later (one delay
  per answer, as a slow network or a slow callee looks to the caller; order is kept);
- reset: connections are reset (TCP RST): the open ones when it is switched on, then each
  new one, each with `probability`;
- blackhole: connections are accepted and never answered (bytes are swallowed); those it
  swallowed bytes of are closed when it ends, as their stream is broken anyway;
- bandwidth: each direction of each connection gets at most `rate` bytes a second;
- partial: every chunk goes out in writes of at most `piece_bytes` (short reads for the
  peer's parser, TLS records split across segments).
"""

from dataclasses import asdict, dataclass
from typing import Any

from mosaic.errors import UsageError

KINDS = ("none", "latency", "reset", "blackhole", "bandwidth", "partial")
MAX_SECONDS = 3600  # a fault that outlives an hour was forgotten, not meant
MAX_LATENCY_MS = 60_000
DEFAULT_PIECE_BYTES = 16


@dataclass(frozen=True)
class Fault:
    kind: str = "none"
    latency_ms: int = 0
    jitter_ms: int = 0
    rate: int = 0  # bytes per second (bandwidth)
    probability: float = 1.0  # share of connections reset (reset)
    piece_bytes: int = DEFAULT_PIECE_BYTES  # largest write (partial)

    def describe(self) -> str:
        if self.kind == "latency":
            return f"latency {self.latency_ms} ms ± {self.jitter_ms} ms"
        if self.kind == "reset":
            return "reset" if self.probability >= 1 else f"reset {self.probability:.0%}"
        if self.kind == "bandwidth":
            return f"bandwidth {self.rate} B/s"
        if self.kind == "partial":
            return f"partial writes of {self.piece_bytes} B"
        return self.kind

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


NONE = Fault()


def make_fault(
    kind: str,
    *,
    latency_ms: int | None = None,
    jitter_ms: int | None = None,
    rate: int | None = None,
    probability: float | None = None,
    piece_bytes: int | None = None,
) -> Fault:
    """A Fault from the command line's options; a UsageError for a kind that is unknown,
    an option that does not belong to the kind, or a value out of range."""
    if kind not in KINDS:
        raise UsageError(f"no fault kind {kind!r}", f"Kinds: {', '.join(KINDS)}.")
    given = {
        "--latency-ms": latency_ms,
        "--jitter-ms": jitter_ms,
        "--rate": rate,
        "--probability": probability,
        "--bytes": piece_bytes,
    }
    allowed = {
        "latency": {"--latency-ms", "--jitter-ms"},
        "bandwidth": {"--rate"},
        "reset": {"--probability"},
        "partial": {"--bytes"},
    }.get(kind, set())
    stray = [name for name, value in given.items() if value is not None and name not in allowed]
    if stray:
        raise UsageError(
            f"{', '.join(stray)} does not apply to {kind}",
            "latency takes --latency-ms and --jitter-ms, bandwidth --rate, reset "
            "--probability, partial --bytes; blackhole and none take nothing.",
        )
    if kind == "latency":
        if latency_ms is None:
            raise UsageError("latency needs --latency-ms", "For example: --latency-ms 300")
        _within("--latency-ms", latency_ms, 0, MAX_LATENCY_MS)
        _within("--jitter-ms", jitter_ms or 0, 0, MAX_LATENCY_MS)
        return Fault(kind, latency_ms=latency_ms, jitter_ms=jitter_ms or 0)
    if kind == "bandwidth":
        if rate is None:
            raise UsageError("bandwidth needs --rate BYTES_PER_SECOND", "For example: --rate 2000")
        _within("--rate", rate, 1, 1 << 30)
        return Fault(kind, rate=rate)
    if kind == "reset":
        chance = 1.0 if probability is None else probability
        if not 0 < chance <= 1:
            raise UsageError(f"--probability {probability}: must be above 0 and at most 1")
        return Fault(kind, probability=chance)
    if kind == "partial":
        size = DEFAULT_PIECE_BYTES if piece_bytes is None else piece_bytes
        _within("--bytes", size, 1, 65536)
        return Fault(kind, piece_bytes=size)
    return Fault(kind)


def fault_from_json(data: Any) -> Fault:
    """A Fault sent over the control channel, checked as the command line checks it."""
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise UsageError("bad fault: expected an object with a kind")
    fields = ("latency_ms", "jitter_ms", "rate", "probability", "piece_bytes")
    extra = set(data) - {"kind", *fields}
    if extra:
        raise UsageError(f"bad fault: unknown fields {', '.join(sorted(extra))}")
    values = {name: data.get(name) for name in fields}
    for name in ("latency_ms", "jitter_ms", "rate", "piece_bytes"):
        if values[name] is not None and not isinstance(values[name], int):
            raise UsageError(f"bad fault: {name} must be an integer")
    if values["probability"] is not None and not isinstance(values["probability"], int | float):
        raise UsageError("bad fault: probability must be a number")
    return make_fault(data["kind"], **values)


def check_seconds(option: str, seconds: float) -> None:
    if not 0 < seconds <= MAX_SECONDS:
        raise UsageError(f"{option} {seconds:g}: must be above 0 and at most {MAX_SECONDS} s")


def _within(option: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UsageError(f"{option} {value}: must be between {low} and {high}")
