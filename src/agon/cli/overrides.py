"""``--config KEY=VALUE`` overrides as ``snakemake --config`` reads them, so that a command shows what the run of
the same command line would do.

Snakemake (``snakemake.cli.parse_config``) reads each value as an integer, else a float, else ``True`` or
``False``, else YAML whose scalars all stay text (PyYAML's BaseLoader), and merges the result into the config
file's mapping; the workflow then merges them as ``agon.config.merge_command_line`` says, and so does this
module. The package does not import Snakemake; this module reads the values as it does.
"""

import re
from collections.abc import Iterable

import yaml

from agon.config import ConfigError, merge_command_line

# Snakemake's rule for a key: an identifier, dashes allowed inside.
KEY = re.compile(r"[a-zA-Z_][\w-]*\w")


def parse_override(entry: str) -> tuple[str, object]:
    """One ``KEY=VALUE`` as Snakemake reads it; a ConfigError naming the entry otherwise."""
    key, sep, text = entry.partition("=")
    if not sep:
        raise ConfigError(f"--config {entry}: not KEY=VALUE; write e.g. --config iterations=5")
    if not KEY.fullmatch(key):
        raise ConfigError(f"--config {entry}: {key!r} is not a config key (letters, digits, _ and -; no dots)")
    return key, _value(text)


def _value(text: str) -> object:
    if text == "":
        return None
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    if text in ("True", "False"):
        return text == "True"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return text
    return text if node is None else _text_scalars(node)


def _text_scalars(node: yaml.Node) -> object:
    """A YAML node with every scalar left as its text, as BaseLoader builds it."""
    if isinstance(node, yaml.MappingNode):
        return {_text_scalars(key): _text_scalars(value) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_text_scalars(item) for item in node.value]
    return node.value


def apply_overrides(config: dict, entries: Iterable[str], schema: dict) -> dict:
    """The config file's mapping with the ``--config`` entries merged in, in order, as the workflow merges them
    (``agon.config.merge_command_line``: a map of names replaces the file's)."""
    for entry in entries:
        key, value = parse_override(entry)
        merge_command_line(config, {key: value}, schema)
    return config
