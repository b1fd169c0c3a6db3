"""A run folder on disk, ``results/<run>``, as code that reads a finished or half-finished run sees it.

Its paths come from the plan's ``FILES`` (agon.plan), the same patterns the rules write, so a reader never
spells a path of its own. What a run folder holds is listed in docs/architecture.md.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from agon.plan import file

ITERATION_DIR = re.compile(r"iter_(\d+)")


@dataclass(frozen=True)
class RunLayout:
    """The files of one run, rooted at its folder ``results/<run>``."""

    root: Path

    def file(self, kind: str, **wildcards: object) -> Path:
        """The path of a file of ``kind`` (a key of ``agon.plan.FILES``), every wildcard filled in."""
        return self.root / file(kind, **wildcards)

    def iteration(self, i: int) -> Path:
        return self.root / f"iter_{i}"

    def iterations(self) -> list[int]:
        """The iterations that have a folder, in order (the last may hold only the final evaluation)."""
        if not self.root.is_dir():
            return []
        found = (ITERATION_DIR.fullmatch(p.name) for p in self.root.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def judges(self, i: int) -> list[str]:
        """The judges of judging.judges that have a folder of verdicts in iteration ``i``."""
        folder = self.iteration(i) / "judgments"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in ("branches", "shards"))

    def logs(self, folder: str, i: int | None = None) -> list[Path]:
        """The job logs of one log folder (a rule's): ``logs/<folder>.log`` and every log under ``logs/<folder>/``;
        with ``i``, iteration i's only: ``logs/<folder>/iter_<i>.log`` and every log under ``logs/<folder>/iter_<i>/``.
        """
        base = self.root / "logs" / folder
        single = base.parent / f"{folder}.log" if i is None else base / f"iter_{i}.log"
        under = base if i is None else base / f"iter_{i}"
        return sorted([*under.rglob("*.log"), *([single] if single.is_file() else [])])
