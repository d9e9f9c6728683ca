"""Files replaced while a process runs (certificates, keys, trusted keys): how it notices.

The issuer and Kubernetes replace a file by renaming a new one over it. A rename within
one clock tick of the last change keeps the modification time, so the stamp holds the
inode and size too: a replaced file is a new inode.
"""

from __future__ import annotations

from pathlib import Path

Stamp = tuple[int, int, int]


def file_stamp(path: Path) -> Stamp:
    """What changes when the file is written or replaced."""
    st = path.stat()
    return st.st_mtime_ns, st.st_ino, st.st_size
