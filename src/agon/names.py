"""The names a run gives itself, its members and its judges, and the reserved ones.

Shared by the config's checks, the plan and the command line, so that none of them imports another to learn them.
"""

import re

# A member whose base is this is built by the workflow itself (the embedded default), not loaded.
EMBEDDED = "embedded"
# Judges drawn from the population: every member is a juror, one job each.
MEMBER_METHODS = ("peer", "logprob")
# Names that become folder and file names under results/ (the schema's patterns, matched whole: the schema's `$`
# also matches before a final newline, so "ada\n" would pass it). No separator, no leading dot: no name escapes.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def is_embedded(member: dict) -> bool:
    return member["base"] == EMBEDDED
