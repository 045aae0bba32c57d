"""The landing zone: one folder per source and day, files as the sources delivered them."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg


@dataclass(frozen=True)
class LandingFile:
    path: str
    name: str  # relative to the landing root, as recorded in raw rows and quarantine
    arrived_at: datetime
    size: int


class LandingZone(dg.ConfigurableResource):
    """`<root>/<source>/<YYYY-MM-DD>/*` with source `metrics` or `cost`."""

    root: str

    def folder(self, source: str, day: date) -> Path:
        return Path(self.root) / source / day.isoformat()

    def files(self, source: str, day: date) -> list[LandingFile]:
        """Every file of the day's folder, hidden and temporary files aside; an unsupported
        extension is listed too, so that it is reported rather than silently skipped."""
        folder = self.folder(source, day)
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            stat = path.stat()
            found.append(
                LandingFile(
                    path=str(path),
                    name=str(path.relative_to(Path(self.root))),
                    arrived_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                    size=stat.st_size,
                )
            )
        return found

    def read(self, file: LandingFile) -> bytes:
        return Path(file.path).read_bytes()
