"""`mosaic admin rotate-certs`: new certificates (and keys) for every service, same CA."""

from pathlib import Path

from rich.console import Console

from mosaic.pki import rotate
from mosaic.services import OPERATOR, Service
from mosaic.state import runner_pid

# Services re-read their trust stores every ~2 s; wait a little over two rounds before
# the new private keys are used, so every running verifier knows the new public keys.
TRUST_RELOAD_WAIT = 5.0


def rotate_certs(home: Path, services: list[Service], *, signing_keys: bool) -> None:
    console = Console(highlight=False, soft_wrap=True)
    running = runner_pid(home) is not None
    if signing_keys and running:
        console.print(
            f"Publishing the new public keys first; the services switch keys in "
            f"{TRUST_RELOAD_WAIT:g} s, once every running service trusts them.",
            markup=False,
        )
    names = [s.name for s in services] + [OPERATOR]
    wait = TRUST_RELOAD_WAIT if signing_keys and running else 0.0
    issued = rotate(home, names, signing_keys=signing_keys, publish_wait=wait)
    for item in issued:  # one line each, easy to read and to grep
        line = f"re-issued the {item.kind} of {item.name}"
        if item.serial and item.not_after:
            line += f": serial {item.serial}, valid until {item.not_after:%Y-%m-%d %H:%M} UTC"
        console.print(line, markup=False)
    if running:
        console.print(
            "Running services load the new files within a few seconds; nothing restarts.",
            markup=False,
        )
    else:
        console.print("Mosaic is not running; the next `mosaic up` uses them.", markup=False)
