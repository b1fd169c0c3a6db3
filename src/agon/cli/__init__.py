"""The ``agon`` command line: read a run (``status``, ``ratings``, ``compare``) or a config (``estimate``).

Each command reads the run's plan (``agon.plan``) rather than deriving what a run holds on its own.
"""

from agon.cli.main import main

__all__ = ["main"]
