"""Static files with the content hash in the URL, so browsers may cache them for a year.

`shop.css` is linked as `/static/shop.3fa1c0d2e4b5.css`; a new stylesheet gets a new URL,
so `immutable` caching never serves a stale one. Starlette's `StaticFiles` still does the
serving (ETag, 304, HEAD, path safety); this only maps hashed names back to files.
"""

import hashlib
import os
from pathlib import Path, PurePosixPath

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

_DIGEST_CHARS = 12
_FOREVER = "public, max-age=31536000, immutable"
# An unhashed or outdated name (a page rendered before a deploy): serve it, but revalidate.
_REVALIDATE = "public, max-age=0, must-revalidate"


def _hashed_name(name: str, digest: str) -> str:
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


class HashedStaticFiles(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        # Hashed once at start: the files ship inside the image and never change at run time.
        self._hashed_to_plain: dict[str, str] = {}
        self._plain_to_hashed: dict[str, str] = {}
        for file in sorted(p for p in directory.rglob("*") if p.is_file()):
            plain = file.relative_to(directory).as_posix()
            digest = hashlib.sha256(file.read_bytes()).hexdigest()[:_DIGEST_CHARS]
            hashed = _hashed_name(plain, digest)
            self._hashed_to_plain[hashed] = plain
            self._plain_to_hashed[plain] = hashed

    def url_path(self, name: str, mount: str = "/static") -> str:
        """The cache-busting URL path of a file under the static folder."""
        return f"{mount}/{self._plain_to_hashed[name]}"

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        plain = self._hashed_to_plain.get(PurePosixPath(path).as_posix())
        scope["mosaic.static_immutable"] = plain is not None
        return os.path.normpath(plain) if plain is not None else path

    def file_response(
        self,
        full_path: "str | os.PathLike[str]",
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        immutable = scope.get("mosaic.static_immutable", False)
        response.headers["Cache-Control"] = _FOREVER if immutable else _REVALIDATE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
