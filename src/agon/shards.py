"""Shards: a stage's rows cut into parts that jobs on many devices work through at once, then put back together.

Two cuts. Generation takes every n-th prompt (``shard_of``): its shards are seeded apart anyway, so only their
balance matters. Judging takes contiguous blocks (``block_of``): gathered in shard order they are the rows in
their own order again, so a judge's table with any number of shards is the table of one.
"""

from pathlib import Path

import pandas as pd

from agon.contracts import Contract, read_tables, write_table


def _check(shard: int, shards: int) -> None:
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is outside 0..{shards - 1}")


def shard_of(rows: pd.DataFrame, shard: int, shards: int) -> pd.DataFrame:
    """Every ``shards``-th row starting at ``shard``: shards stay balanced and together cover all rows."""
    _check(shard, shards)
    return rows.iloc[shard::shards].reset_index(drop=True)


def block_of(rows: pd.DataFrame, shard: int, shards: int) -> pd.DataFrame:
    """The ``shard``-th of ``shards`` contiguous blocks, their sizes at most one row apart; the blocks in shard
    order are ``rows`` in their own order."""
    _check(shard, shards)
    start, stop = (len(rows) * k // shards for k in (shard, shard + 1))
    return rows.iloc[start:stop].reset_index(drop=True)


def gather_tables(shard_paths: list[str | Path], out_path: str | Path, contract: Contract) -> None:
    """Concatenate shards' tables of one contract, in shard order, into one table."""
    write_table(read_tables(shard_paths, contract), out_path, contract)
