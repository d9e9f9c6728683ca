"""What the embedded Postgres and Valkey have in common: one data directory, one port."""

from dataclasses import dataclass, field
from pathlib import Path

from mosaic.ports import free_port


@dataclass
class EmbeddedServer:
    """One data directory, served on one port for the lifetime of this object: on loopback,
    or on 0.0.0.0 in a container (`mosaic serve`), where the admin still comes by loopback."""

    data_dir: Path
    password: str
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
