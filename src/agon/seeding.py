"""Per-job seeds derived from the run's one top-level seed.

A stable hash (crc32), never Python's salted ``hash()``, so a re-run of any job reproduces its outputs.
"""

import zlib


def derive_seed(seed: int, *parts: object) -> int:
    """Return a 31-bit seed for the job identified by ``parts`` (stage, iteration, model, shard, ...)."""
    key = "/".join([str(seed), *map(str, parts)])
    return zlib.crc32(key.encode()) & 0x7FFFFFFF
