"""Job logs: everything a job says (logging, warnings, progress bars on stderr) goes to its log file."""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path


@contextmanager
def log_to(path: str | Path) -> Iterator[None]:
    """Send logging, stdout and stderr to ``path`` for the duration of the block; log a failure's traceback there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as stream, redirect_stderr(stream), redirect_stdout(stream):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            yield
        except BaseException:
            logging.getLogger(__name__).exception("job failed")
            raise
        finally:
            root.removeHandler(handler)
            logging.captureWarnings(False)
            sys.stdout.flush()
            sys.stderr.flush()
