"""The ``agon`` command line: read a run (``status``, ``ratings``, ``compare``, ``accuracy``) or a config
(``estimate``, ``check``).

Each command reads the run's plan (``agon.plan``) rather than deriving what a run holds on its own.
"""

from agon.cli.main import main

__all__ = ["main"]
