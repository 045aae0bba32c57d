"""Atomic file replacement: a crash mid-write leaves the previous version readable."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write` on a temporary sibling of `path`, then rename it over `path`.

    The rename is atomic on POSIX filesystems, so readers see the old file or the new one,
    never a torn one. Temporary names start with a dot so that globbing readers skip them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
