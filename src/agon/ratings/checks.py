"""The one check the rating configs share.

The schema (config/schema.yaml) states every key's range, and the workflow validates the config against it before
any job. Rating configs are also built in Python (tests, benchmarks, notebooks), past the schema, so each keeps
the few checks whose failure would otherwise rate silently wrong, and only those: a value that fails loudly where
it is used (a KeyError, a division by zero, a negative judge weight) needs no second check.
"""

from collections.abc import Mapping


def require(scope: str, checks: Mapping[str, bool]) -> None:
    """Raise one ValueError naming ``scope`` (``rating.<scheme>``) and every check whose value is False."""
    failed = [message for message, ok in checks.items() if not ok]
    if failed:
        raise ValueError(f"{scope}: {'; '.join(failed)}")
