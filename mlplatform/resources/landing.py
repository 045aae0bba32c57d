"""The landing zone: one folder per source and day, files as the sources delivered them."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import polars as pl
from dagster_aws.s3 import S3Resource
from upath import UPath

from mlplatform.lib.ingest.landing import RefusedFile
from mlplatform.resources.objectstore import (
    location,
    read_json,
    read_parquet,
    write_json,
    write_parquet,
)
from mlplatform.settings import DEFAULT_MAX_LANDING_FILE_BYTES


@dataclass(frozen=True)
class LandingFile:
    path: str
    name: str  # relative to the landing root, as recorded in raw rows and quarantine
    arrived_at: datetime
    size: int
    refused: str | None = None  # why it is not read: a link or a special file


class LandingZone(dg.ConfigurableResource):
    """`<root>/<source>/<YYYY-MM-DD>/*` with source `metrics` or `cost`; `root` a local folder
    or `s3://bucket/prefix` (with `s3`)."""

    root: str
    s3: S3Resource | None = None
    # a larger file is quarantined by name, unread (MLPLATFORM_MAX_LANDING_FILE_BYTES)
    max_file_bytes: int = DEFAULT_MAX_LANDING_FILE_BYTES

    def _root(self) -> UPath:
        return location(self.root, self.s3)

    def folder(self, source: str, day: date) -> UPath:
        return self._root() / source / day.isoformat()

    def files(self, source: str, day: date) -> list[LandingFile]:
        """Every entry of the day's folder, hidden and temporary files aside; an unsupported
        extension is listed too, so that it is reported rather than silently skipped, and so
        are links and special files, which are refused (never followed) when read."""
        root = self._root()  # one path object: relative_to compares their S3 options
        return [
            LandingFile(
                path=str(path),
                name=path.relative_to(root).as_posix(),
                arrived_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                size=stat.st_size,
                refused=refused,
            )
            for path, stat, refused in _visible_files(root / source / day.isoformat())
        ]

    def latest_arrivals(self) -> dict[str, tuple[str, float]]:
        """Per day folder (`<source>/<day>`) with files: (its path, newest file mtime)."""
        latest: dict[str, tuple[str, float]] = {}
        root = self._root()
        for source in ("metrics", "cost"):
            if not (root / source).is_dir():
                continue
            for folder in sorted(p for p in (root / source).iterdir() if p.is_dir()):
                times = [stat.st_mtime for _, stat, _ in _visible_files(folder)]
                if times:
                    before = latest.get(folder.name, ("", 0.0))[1]
                    latest[folder.name] = (str(folder), max(before, *times))
        return latest

    def labels(self, day: date) -> UPath:
        """The simulator's labels file of `day` (may not exist)."""
        return self._root() / "labels" / f"{day.isoformat()}.json"

    def read(self, file: LandingFile) -> bytes:
        """The file's bytes; `RefusedFile` for a link, a special file or one too large."""
        if file.refused:
            raise RefusedFile(file.refused)
        if file.size > self.max_file_bytes:
            raise RefusedFile(
                f"{file.size:,} bytes, over the {self.max_file_bytes:,} a landing file may hold "
                "(MLPLATFORM_MAX_LANDING_FILE_BYTES); split it, or raise the limit"
            )
        return location(file.path, self.s3).read_bytes()

    def read_frame(self, source: str, day: str, name: str) -> pl.DataFrame | None:
        """A Parquet file a puller landed earlier, or None."""
        path = self._root() / source / day / name
        return read_parquet(path, self.s3) if path.exists() else None

    def write_frame(self, source: str, day: str, name: str, frame: pl.DataFrame) -> str:
        """Land (or replace) one Parquet file; readers never see half of it."""
        path = self._root() / source / day / name
        write_parquet(frame, path, self.s3)
        return path.relative_to(self._root()).as_posix()

    def state(self, name: str) -> dict[str, Any]:
        """A puller's cursors, under `_state/` (no source folder, so never ingested)."""
        return read_json(self._state_path(name))

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        write_json(self._state_path(name), state, self.s3)

    def _state_path(self, name: str) -> UPath:
        return self._root() / "_state" / f"{name}.json"


def _visible_files(folder: UPath) -> list[tuple[UPath, Any, str | None]]:
    """(path, stat, why refused) of every entry below `folder` but directories, in name
    order, none under a hidden name. A link is never followed (`evil.csv ->
    ~/.aws/credentials` would land the credentials): it is listed with its own stat and refused,
    as are special files (a FIFO would block the reader for ever)."""
    if not folder.is_dir() or _is_link(folder):
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if _is_link(path):
            found.append((path, path.lstat(), "a symbolic link: links are never followed"))
        elif path.is_file():
            found.append((path, path.stat(), None))
        elif not path.is_dir():
            found.append((path, path.lstat(), "not a regular file (a FIFO, socket or device)"))
    return found


def _is_link(path: UPath) -> bool:
    try:
        return path.is_symlink()
    except NotImplementedError:  # an object store has no links
        return False
