"""The names a run gives itself, its members and its judges, and the reserved ones.

Shared by the config's checks, the plan and the command line, so that none of them imports another to learn them.
"""

import re

# A member whose base is this is built by the workflow itself (the embedded default), not loaded.
EMBEDDED = "embedded"
# Judges drawn from the population: every member is a juror, one job each.
MEMBER_METHODS = ("peer", "logprob")
# Names that become folder and file names under results/: the run, members, judges (the schema's patterns, matched
# whole: the schema's `$` also matches before a final newline, so "ada\n" would pass it). Dots are allowed between
# other characters, for Hub-style names (qwen2.5-0.5b); no separator, no leading or final dot, no "..": every name
# is one plain path component that no file system rewrites (Windows drops a final dot).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
# The same rule in words, for messages (never the regex).
NAME_RULE = "letters, digits, '_', '-' and single dots, starting with a letter or digit and not ending in a dot"


def is_embedded(member: dict) -> bool:
    return member["base"] == EMBEDDED
