"""Data contracts: the columns and types of every table Agon writes, and the keys of the JSON documents that
several stages read, checked wherever a stage reads one.

One place defines them, so a stage that reads a file written by another (or by a user) fails with the file
and the column or key named, instead of a KeyError deep inside a model job.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agon.files import atomic_file, read_json, write_json


class ContractError(ValueError):
    """A table that does not have the columns or types its contract requires."""


@dataclass(frozen=True)
class Contract:
    name: str
    schema: pa.Schema
    # Columns a table may lack (older files, tasks without them) but must type right when it has them.
    optional: pa.Schema = field(default_factory=lambda: pa.schema([]))

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    def field(self, name: str) -> pa.Field | None:
        for schema in (self.schema, self.optional):
            if name in schema.names:
                return schema.field(name)
        return None

    def check(self, table: pa.Schema, source: str) -> None:
        """Raise ContractError naming ``source`` and the first missing or mistyped column."""
        present = set(table.names)
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise ContractError(f"{source}: {self.name} table lacks column(s) {missing}; it has {sorted(present)}")
        for column in [*self.schema, *(f for f in self.optional if f.name in present)]:
            actual = table.field(column.name).type
            if not _compatible(actual, column.type):
                raise ContractError(
                    f"{source}: column '{column.name}' of the {self.name} table has type {actual}, "
                    f"expected {column.type}"
                )


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_list(expected):
        # pandas cannot type a column whose lists are all empty: Arrow reads it as list<null>.
        return pa.types.is_list(actual) and (
            pa.types.is_null(actual.value_type) or _compatible(actual.value_type, expected.value_type)
        )
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    return actual == expected


PROMPTS = Contract(
    "prompts",
    pa.schema(
        [
            ("prompt_id", pa.string()),
            ("prompt", pa.string()),
            ("reference", pa.string()),
            ("split", pa.string()),
        ]
    ),
    # Written by every task since real datasets came in: option texts of a multiple-choice prompt (the reference
    # is then the correct one's letter), the passage a debate gives only its debaters, and the record's metadata
    # as a JSON object.
    optional=pa.schema([("choices", pa.list_(pa.string())), ("background", pa.string()), ("metadata", pa.string())]),
)

GENERATIONS = Contract(
    "generations",
    pa.schema(
        [
            ("prompt_id", pa.string()),
            ("prompt", pa.string()),
            ("model", pa.string()),
            ("sample", pa.int64()),
            ("response", pa.string()),
            ("n_tokens", pa.int64()),
            ("finish_reason", pa.string()),
            ("seed", pa.int64()),
            ("backend", pa.string()),
            # Provenance: the adapter applied on the base ("" for none), so a run shows which weights answered.
            ("adapter", pa.string()),
        ]
    ),
)


MATCHES = Contract(
    "matches",
    pa.schema(
        [
            ("match_id", pa.string()),
            ("round", pa.int64()),
            ("prompt_id", pa.string()),
            ("prompt", pa.string()),
            ("reference", pa.string()),
            ("model_a", pa.string()),
            ("model_b", pa.string()),
        ]
    ),
)

# One row per (match, judge, order). `preference` is the judge's verdict mapped back to the match's own A/B:
# +1 = A clearly better, -1 = B clearly better, 0 = even; null when the verdict is invalid (never guessed).
JUDGMENTS = Contract(
    "judgments",
    pa.schema(
        [
            ("match_id", pa.string()),
            ("judge", pa.string()),
            ("method", pa.string()),
            ("order", pa.string()),
            ("score_a", pa.float64()),
            ("score_b", pa.float64()),
            ("preference", pa.float64()),
            ("raw", pa.string()),
            ("valid", pa.bool_()),
            ("error", pa.string()),
        ]
    ),
)

PAIRS = Contract(
    "pairs",
    pa.schema(
        [
            ("prompt_id", pa.string()),
            ("prompt", pa.string()),
            ("chosen", pa.string()),
            ("rejected", pa.string()),
            ("margin", pa.float64()),
            ("match_id", pa.string()),
            ("chosen_model", pa.string()),
            ("rejected_model", pa.string()),
        ]
    ),
)


# What every judge reads (judging.protocol.DUEL_COLUMNS), where a protocol writes it as a file: debate's judges
# read transcripts, so their duels are built before judging rather than from the generations.
DUELS = Contract(
    "duels",
    pa.schema(
        [
            ("match_id", pa.string()),
            ("prompt", pa.string()),
            ("reference", pa.string()),
            ("model_a", pa.string()),
            ("model_b", pa.string()),
            ("answer_a", pa.string()),
            ("answer_b", pa.string()),
        ]
    ),
)

# Debate: one row per speech, both alternatives of each (alt 0 continues the transcript; alt 1 is its branch).
TRANSCRIPT = Contract(
    "transcript",
    pa.schema(
        [
            ("match_id", pa.string()),
            ("turn", pa.int64()),
            ("round", pa.int64()),
            ("side", pa.string()),
            ("speaker", pa.string()),
            ("alt", pa.int64()),
            ("prompt", pa.string()),
            ("text", pa.string()),
        ]
    ),
)

# Selfplay: each sampled answer's estimated win rate against its own policy, P(y > pi), from the ranker's verdicts.
WIN_RATES = Contract(
    "win_rates",
    pa.schema(
        [
            ("model", pa.string()),
            ("prompt_id", pa.string()),
            ("sample", pa.int64()),
            ("win_rate", pa.float64()),
            ("compared", pa.int64()),
        ]
    ),
)


def read_table(path: str | Path, contract: Contract) -> pd.DataFrame:
    """Read a parquet file and check it against ``contract``; extra columns are kept."""
    path = Path(path)
    if not path.exists():
        raise ContractError(f"{path}: {contract.name} table not found")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise ContractError(f"{path}: not a readable parquet file ({err})") from err
    contract.check(schema, str(path))
    return pq.read_table(path).to_pandas()


def read_tables(paths: list[str | Path], contract: Contract) -> pd.DataFrame:
    """Several files of one contract (one per judge, model or turn), each checked, as one table; none gives an
    empty table with the contract's columns."""
    if not paths:
        return pd.DataFrame(columns=contract.columns)
    return pd.concat([read_table(p, contract) for p in paths], ignore_index=True)


def write_table(frame: pd.DataFrame, path: str | Path, contract: Contract) -> None:
    """Check ``frame`` against ``contract`` and write it atomically, contract columns first.

    An empty frame is typed from the contract: pandas cannot tell the type of an empty column.
    """
    extra = [c for c in frame.columns if c not in contract.columns]
    source = f"{path} (being written)"
    if frame.empty:
        missing = [c for c in contract.columns if c not in frame.columns]
        if missing:
            raise ContractError(f"{source}: {contract.name} table lacks column(s) {missing}")
        schema = pa.schema([*contract.schema, *(f for f in contract.optional if f.name in frame.columns)])
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    else:
        table = pa.Table.from_pandas(
            frame[[c for c in contract.columns if c in frame.columns] + extra], preserve_index=False
        )
        contract.check(table.schema, source)
        fields = [contract.field(c) or table.schema.field(c) for c in table.schema.names]
        table = table.cast(pa.schema(fields))
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)


@dataclass(frozen=True)
class Document:
    """The keys a JSON document must hold and the types their values may take (``None`` for null).

    Extra keys are allowed, as extra columns are in a table; nested values are checked by their own readers.
    """

    name: str
    keys: Mapping[str, tuple[type | None, ...]]

    def check(self, document: Mapping, source: str) -> None:
        """Raise ContractError naming ``source`` and the first missing or mistyped key."""
        missing = [key for key in self.keys if key not in document]
        if missing:
            raise ContractError(f"{source}: {self.name} document lacks key(s) {missing}; it has {sorted(document)}")
        for key, types in self.keys.items():
            if not _is_a(document[key], types):
                expected = " or ".join("null" if t is None else t.__name__ for t in types)
                raise ContractError(
                    f"{source}: key '{key}' of the {self.name} document is {type(document[key]).__name__}, "
                    f"expected {expected}"
                )


def _is_a(value: object, types: tuple[type | None, ...]) -> bool:
    if value is None:
        return None in types
    if isinstance(value, bool):  # JSON tells true from 1; Python's bool is an int
        return bool in types
    if isinstance(value, int) and float in types:  # JSON writes a whole float such as 0.0 as it likes
        return True
    return isinstance(value, tuple(t for t in types if t is not None))


# One iteration's pairs/stats.json, written by every protocol (agon.pair_stats) and read by the report.
PAIR_STATS = Document(
    "pair_stats",
    {
        "protocol": (str,),
        # What could each give one pair: tribe's duels, selfplay's (model, prompt)s, debate's speeches.
        "candidates": (int,),
        "pairs": (int,),
        # Candidates without a pair, by the protocol's reasons (every reason, zero included).
        "dropped": (dict,),
        "pairs_by_chosen_model": (dict,),
        "mean_margin": (float, None),
        "margin_histogram": (dict,),
        "mean_length_delta_chars": (float, None),
        # Shares of the pairs, where the task's checker or the verifier knows which answers are correct.
        "chosen_correct": (float, None),
        "rejected_correct": (float, None),
        "inverted": (float, None),
        "both_wrong": (float, None),
        # What only this protocol measures.
        "extras": (dict,),
    },
)


# One model's win rate against its iteration-0 self on the held-out prompts (iter_<i>/eval/vs_base/<model>.json,
# agon.evaluation), read by the report. A tie counts half; duels without a valid verdict count in no rate.
WIN_RATE_VS_BASE = Document(
    "win_rate_vs_base",
    {
        "model": (str,),
        "iteration": (int,),
        "judge": (str,),
        "jurors": (list,),
        "prompts": (int,),
        # Answers equal to the base's: ties without a verdict. Judged: the others, put before the jurors.
        "identical": (int,),
        "judged": (int,),
        "wins": (int,),
        "ties": (int,),
        "losses": (int,),
        "undecided": (int,),
        # (wins + ties / 2) / (wins + ties + losses), and its Wilson interval at coverage ci; null with no duel decided.
        "win_rate": (float, None),
        "ci_low": (float, None),
        "ci_high": (float, None),
        "ci": (float,),
    },
)


# The tournament of every checkpoint (tournament/summary.json, agon.tournament), read by the report. Checkpoints are
# named <member>@iter_<i>; the ratings and the win matrix are TSV files beside it.
TOURNAMENT = Document(
    "tournament",
    {
        "judge": (str,),
        "jurors": (list,),
        "checkpoints": (list,),
        "prompts": (int,),
        # Every two checkpoints on every prompt; equal answers are ties without a verdict, the others judged, and
        # those without a valid verdict undecided.
        "duels": (int,),
        "identical": (int,),
        "judged": (int,),
        "undecided": (int,),
        # The scheme of tournament/ratings.tsv and its parameters.
        "rating": (dict,),
        # Per member, its last checkpoint against its first: first, last, wins, ties, losses, undecided, win_rate,
        # ci_low, ci_high, ci (as WIN_RATE_VS_BASE counts them); empty for a run of no iteration.
        "head_to_head": (dict,),
        # Triples of checkpoints whose three majority relations are decided, and those among them that are cycles.
        "decided_triads": (int,),
        "cyclic_triads": (int,),
        "cyclic_triad_share": (float, None),
        # The win matrix's flow that no ranking explains (HodgeRank's residual share), in [0, 1]; null with no flow.
        "nontransitive_share": (float, None),
    },
)


def read_document(path: str | Path, contract: Document) -> dict:
    """Read a JSON document and check it against ``contract``; extra keys are kept."""
    document = read_json(path)
    contract.check(document, str(path))
    return document


def write_document(document: dict, path: str | Path, contract: Document) -> None:
    """Check ``document`` against ``contract`` and write it atomically."""
    contract.check(document, f"{path} (being written)")
    write_json(document, path)
