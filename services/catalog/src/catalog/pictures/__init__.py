"""Product pictures: hand-drawn SVGs that ship inside the package, one per product id.

They are read once per process and kept in memory (about 35 KB for all of them): a picture
request never touches the disk, the database or the cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Shown for a product created through the API without a drawing of its own. The leading
# underscore keeps it out of the product id namespace.
PLACEHOLDER = "_placeholder"


@dataclass(frozen=True, slots=True)
class Picture:
    svg: bytes
    etag: str

    def matches(self, if_none_match: str | None) -> bool:
        """Whether a client's `If-None-Match` names this version (weak comparison, RFC 9110)."""
        if not if_none_match:
            return False
        if if_none_match.strip() == "*":
            return True
        wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return self.etag in wanted


@cache
def pictures() -> dict[str, Picture]:
    """Every shipped picture by name (file name without `.svg`)."""
    found: dict[str, Picture] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".svg"):
            svg = entry.read_bytes()
            digest = hashlib.sha256(svg).hexdigest()[:20]
            found[entry.name.removesuffix(".svg")] = Picture(svg, f'"{digest}"')
    return found


def picture(name: str) -> Picture | None:
    return pictures().get(name)


def placeholder() -> Picture:
    return pictures()[PLACEHOLDER]
