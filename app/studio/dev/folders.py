"""Where the developer tabs keep things: ``<data dir>/dev`` (private, as the whole data folder).

::

    dev/jobs.json          every job started here (the runs list survives a restart)
    dev/data/<set>/        rendered synthetic sets; <set>.log and <set>.sheet.png beside them
    dev/data/checks/       logs and contact sheets of checked folders
    dev/runs/<name>/       training runs side by side: vae/ teacher/ student/ student-no-tcg/
                           (the bundled configs' ``init: ../vae/final`` finds its neighbour);
                           <run>.log beside each run folder
    dev/bundles/<bundle>/  exported bundles; <bundle>.log beside each
    dev/evals/<id>/        scores.json and grid.png of an evaluation; <id>.log beside it
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.paths import private_mkdir


def slug(text: str, fallback: str = "run") -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or fallback


def log_beside(folder: Path) -> Path:
    """A job's log sits beside the folder it writes: ``runs/tiny/vae`` -> ``runs/tiny/vae.log``."""
    folder = Path(folder)
    return folder.with_name(folder.name + ".log")


class DevFolders:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def jobs_file(self) -> Path:
        return self.root / "jobs.json"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def checks(self) -> Path:
        return self.data / "checks"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def bundles(self) -> Path:
        return self.root / "bundles"

    @property
    def evals(self) -> Path:
        return self.root / "evals"

    def make(self, folder: Path) -> Path:
        """Create ``folder`` (and its parents under the data dir) private; return it."""
        return private_mkdir(Path(folder))

    @staticmethod
    def unused(parent: Path, stem: str, taken: set[str] | None = None) -> Path:
        """``parent/stem``, or ``stem-2``, ``stem-3``... when that (or its log) exists or is taken."""
        stem = slug(stem)
        taken = {str(Path(t)) for t in (taken or set())}
        candidate, n = Path(parent) / stem, 2
        while candidate.exists() or log_beside(candidate).exists() or str(candidate) in taken:
            candidate, n = Path(parent) / f"{stem}-{n}", n + 1
        return candidate
