"""Where a run's files live: the layout the workflow writes under ``results/<run>/`` (rules/*.smk).

The rules spell their paths as Snakemake patterns; code that reads a finished or half-finished run (the ``agon``
command line) takes them from here, so the layout is written down once on the package's side. README.md's
"Where outputs land" describes every file.
"""

import re
from dataclasses import dataclass
from pathlib import Path

ITERATION_DIR = re.compile(r"iter_(\d+)")
SPLITS = ("train", "preference", "heldout")


@dataclass(frozen=True)
class RunLayout:
    """The files of one run, rooted at its folder ``results/<run>``."""

    root: Path

    # --- run level ------------------------------------------------------------------------------------------

    def split(self, name: str) -> Path:
        return self.root / "data" / f"{name}.parquet"

    @property
    def tokenizer(self) -> Path:
        return self.root / "bootstrap" / "tokenizer"

    @property
    def members(self) -> Path:
        return self.root / "models"

    def member(self, model: str) -> Path:
        return self.members / model

    def trajectory(self, scheme: str) -> Path:
        return self.root / "ratings" / f"{scheme}.tsv"

    def health(self, scheme: str) -> Path:
        return self.root / "ratings" / f"{scheme}_health.tsv"

    def report_figure(self, name: str) -> Path:
        """A figure of ``snakemake --report`` (rules/report.smk): accuracy, win_rates, training, pairs,
        ratings_<scheme>."""
        return self.root / "report" / f"{name}.png"

    # --- iterations -----------------------------------------------------------------------------------------

    def iteration(self, i: int) -> Path:
        return self.root / f"iter_{i}"

    def iterations(self) -> list[int]:
        """The iterations that have a folder, in order (the last may hold only the final evaluation)."""
        if not self.root.is_dir():
            return []
        found = (ITERATION_DIR.fullmatch(p.name) for p in self.root.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def prompts(self, i: int) -> Path:
        return self.iteration(i) / "prompts.parquet"

    def matches(self, i: int) -> Path:
        return self.iteration(i) / "matches.parquet"

    def generations_dir(self, i: int) -> Path:
        return self.iteration(i) / "generations"

    def generations(self, i: int, model: str) -> Path:
        return self.generations_dir(i) / f"{model}.parquet"

    def previous_generations(self, i: int, model: str) -> Path:
        """Selfplay, iteration i > 0: the previous policy's answers to this iteration's prompts."""
        return self.generations_dir(i) / "previous" / f"{model}.parquet"

    def debate_turn(self, i: int, turn: int, model: str) -> Path:
        return self.iteration(i) / "debate" / f"turn_{turn}" / f"{model}.parquet"

    def transcripts(self, i: int) -> Path:
        return self.iteration(i) / "transcripts.parquet"

    def debate_duels(self, i: int) -> Path:
        return self.iteration(i) / "debate" / "duels.parquet"

    def judgments_dir(self, i: int) -> Path:
        return self.iteration(i) / "judgments"

    def judgments(self, i: int, entry: str, judge: str) -> Path:
        """The verdicts of ``judge`` under an entry of judging.judges (peer, logprob, verifier or an outsider)."""
        return self.judgments_dir(i) / entry / f"{judge}.parquet"

    def branch_judgments(self, i: int, entry: str, judge: str) -> Path:
        """Debate: the judge's verdicts on the branched transcripts."""
        return self.judgments_dir(i) / "branches" / entry / f"{judge}.parquet"

    def judge_entries(self, i: int) -> list[str]:
        """The judging.judges entries that have a folder of verdicts in iteration ``i``."""
        folder = self.judgments_dir(i)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in ("branches", "shards"))

    def audit(self, i: int) -> Path:
        return self.judgments_dir(i) / "audit.json"

    def agreement(self, i: int) -> Path:
        return self.judgments_dir(i) / "agreement.json"

    def ratings_dir(self, i: int) -> Path:
        return self.iteration(i) / "ratings"

    def ratings(self, i: int, scheme: str) -> Path:
        return self.ratings_dir(i) / f"{scheme}.json"

    def comparison(self, i: int) -> Path:
        return self.ratings_dir(i) / "comparison.json"

    def selfplay_summary(self, i: int) -> Path:
        return self.ratings_dir(i) / "selfplay.json"

    def win_rates(self, i: int) -> Path:
        return self.ratings_dir(i) / "win_rates.parquet"

    def debate_outcomes(self, i: int) -> Path:
        return self.ratings_dir(i) / "debate.json"

    def pairs(self, i: int, model: str) -> Path:
        return self.iteration(i) / "pairs" / f"{model}.parquet"

    def pair_stats(self, i: int) -> Path:
        return self.iteration(i) / "pairs" / "stats.json"

    def adapter(self, i: int, model: str) -> Path:
        return self.iteration(i) / "adapters" / model

    def evaluation(self, i: int, model: str) -> Path:
        return self.iteration(i) / "eval" / f"{model}.json"

    # --- logs -----------------------------------------------------------------------------------------------

    def logs(self, folder: str, i: int | None = None) -> list[Path]:
        """The job logs of one log folder (a rule's): ``logs/<folder>.log`` and every log under ``logs/<folder>/``;
        with ``i``, iteration i's only: ``logs/<folder>/iter_<i>.log`` and every log under ``logs/<folder>/iter_<i>/``.
        """
        base = self.root / "logs" / folder
        single = base.parent / f"{folder}.log" if i is None else base / f"iter_{i}.log"
        under = base if i is None else base / f"iter_{i}"
        return sorted([*under.rglob("*.log"), *([single] if single.is_file() else [])])
