"""The run configuration: validated against config/schema.yaml, defaults filled, cross-key checks.

Validation happens once, when the workflow starts, so a bad config stops before any job runs and the
message names the key and what was expected. The schema states each key's rules; agon.config_checks the rules
between keys.
"""

import difflib
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from agon.config_checks import cross_key_problems, default_min_judges, did_you_mean, judges_per_duel, not_a_plain_name
from agon.names import NAME


class ConfigError(ValueError):
    """A config value that the workflow cannot run with."""


def _with_defaults(validator_class):
    """A validator that fills each missing key with the schema's default while validating.

    The jsonschema documentation's recipe: defaults are set before the object's own keywords are checked,
    so nested objects whose default is ``{}`` get their own keys' defaults too.
    """
    check_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = _copy(sub["default"])
        yield from check_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


# JSON schema counts 3.0 as an integer; the workflow would then fail on range(3.0), far from the key.
_TYPES = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
)
_Validator = _with_defaults(validators.extend(Draft202012Validator, type_checker=_TYPES))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key repeated in one mapping is an error: PyYAML keeps the last one
    silently, so a member or judge listed twice would quietly lose its first definition."""


class _RepeatedKey(yaml.YAMLError):
    pass


def _mapping_without_repeats(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    first_line: dict[object, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` brings keys that the mapping's own keys may override
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable):
            continue  # construct_mapping refuses it, with its own message
        if key in first_line:
            raise _RepeatedKey(f"line {line}: key {key!r} repeats line {first_line[key]} in the same mapping")
        first_line[key] = line
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats)


def load_config_file(path: str | Path) -> dict:
    """The mapping a YAML (or JSON) config file holds; text that is not UTF-8, YAML that does not parse and a key
    given twice in one mapping are ConfigErrors naming the file and the line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    try:
        config = yaml.load(text, Loader=_StrictLoader) or {}
    except _RepeatedKey as err:
        raise ConfigError(f"{path}, {err}; YAML would keep only the last") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    return config


def check_config_files(paths: Iterable[str | Path]) -> None:
    """Re-read the config files Snakemake loaded (``workflow.configfiles``) for what its loader lets through: a
    key given twice in one mapping. Snakemake has already refused files that do not parse."""
    for path in paths:
        load_config_file(path)


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _key(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _describe(error: ValidationError) -> str:
    """One line naming the key, the offending value and what the schema expects there."""
    key = _key(error)
    # A branch of the schema that holds for some objects only (the keys of an api judge) names them in its title.
    scope = f" for {error.schema['title']}" if "title" in error.schema else ""
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        where = ("the top level" if key == "<top level>" else f"'{key}'") + scope
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        guesses = [
            f"{close[0]!r} for {name!r}"
            for name in unknown
            if (close := difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.7))
        ]
        guess = f"; did you mean {', '.join(guesses)}?" if guesses else ""
        return f"config: unknown key(s) {', '.join(map(repr, unknown))} at {where}{hint}{guess}"
    if error.validator == "pattern" and error.schema["pattern"] == f"^{NAME.pattern}$":
        return not_a_plain_name(key, error.instance)
    if error.validator == "enum":
        # The choices are the message; a schema paragraph about each would drown them.
        guess = did_you_mean(str(error.instance), [str(choice) for choice in error.validator_value])
        return f"config key '{key}': {error.message}{scope}{guess}"
    expected = _first_sentence(error.schema.get("description", ""))
    message = f"{error.instance!r} is not allowed" if error.validator == "not" else error.message
    line = f"config key '{key}': {message}{scope}"
    if error.validator == "type" and isinstance(error.instance, str) and _is_number(error.instance):
        # YAML 1.1 reads 1e-3 (no dot) as a string; quoting a number does too.
        line += " (YAML read it as text: write numbers unquoted, with a dot before any exponent, e.g. 1.0e-3)"
    return f"{line} (expected: {expected})" if expected else line


# A full stop that ends a sentence: followed by a space or the end, and not that of an abbreviation.
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)(?<!vs)\.(?=\s|$)")


def _first_sentence(description: str) -> str:
    """A schema description's first sentence, for a message: the rest (defaults, figures) is config/README.md's."""
    text = " ".join(description.split())
    end = _SENTENCE_END.search(text)
    return text[: end.start()] if end else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _errors(config: dict, schema: dict) -> Iterator[str]:
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        yield _describe(error)


def validate_config(config: dict, schema: dict) -> dict:
    """Fill defaults into ``config`` in place, validate it, put its keys in canonical order, and return it.

    Raises ConfigError on any problem. Snakemake re-runs a job whose params changed, and it compares them as
    written, so a config whose keys are merely reordered would re-run finished jobs; in canonical order (sorted,
    except the population, whose order is the members' order) it cannot.
    """

    problems = list(_errors(config, schema))
    if not problems:
        _fill_population_defaults(config)
        problems = list(cross_key_problems(config))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    canonical = _sorted_keys(config)
    canonical["models"] = {name: _sorted_keys(member) for name, member in config["models"].items()}
    config.clear()
    config.update(canonical)
    return config


def _fill_population_defaults(config: dict) -> None:
    """Keys whose schema default is null because the right value depends on the population: resolved here, once,
    so that every job, `agon estimate` and the run's notes read the same number."""
    if config["pairs"]["min_judges"] is None:
        config["pairs"]["min_judges"] = default_min_judges(config)


def run_notes(config: dict) -> list[str]:
    """What a validated config implies that a user might not expect, one line each, for the workflow to say when it
    starts: a run that trains nothing, and how many judges a tribe pair needs."""
    if config["iterations"] == 0:
        return ["iterations: 0: this run builds and evaluates the initial population only (no duels, no training)"]
    if config["protocol"] != "tribe":
        return []
    signal, min_judges, judges = config["judging"]["signal"], config["pairs"]["min_judges"], judges_per_duel(config)
    of_its = f"{judges} judge" if judges == 1 else f"{judges} judges"
    return [
        f"pairs.min_judges is {min_judges}: a duel makes a pair only if {min_judges} of its {of_its} "
        f"(signal {signal!r}, {len(config['models'])} models) give a valid verdict"
    ]


def name_maps(schema: dict, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where the config holds a map keyed by names the user chooses (models, judging.external, ...): objects whose
    keys the schema leaves open."""
    for key, sub in schema.get("properties", {}).items():
        if isinstance(sub.get("additionalProperties"), dict) and "properties" not in sub:
            yield (*path, key)
        else:
            yield from name_maps(sub, (*path, key))


def merge_command_line(config: dict, overrides: Mapping, schema: dict) -> dict:
    """``overrides`` (``--config``) merged into ``config`` in place as Snakemake merges them, with two differences.

    A map of names (``name_maps``: models, judging.external, ...) given on the command line replaces the config
    file's: Snakemake would merge it name by name, so ``--config models='{eve: ...}'`` would add eve to the file's
    population, and the population you list is the population that runs. Replacing, not refusing, keeps the
    command line able to name a whole population, as it names every other value. And the scalars inside a
    mapping or list are read as a config file reads them: Snakemake leaves them text (PyYAML's BaseLoader), so
    ``{layers: 3}`` would be refused as '3'. Merging into a config that already holds ``overrides`` (Snakemake's
    merge) gives the same config, so the workflow applies it to the config Snakemake hands it.
    """
    maps = set(name_maps(schema))

    def merge(target: dict, given: Mapping, path: tuple[str, ...]) -> None:
        for key, value in given.items():
            where = (*path, key)
            if isinstance(value, Mapping) and where not in maps and isinstance(target.get(key), dict):
                merge(target[key], value, where)
            else:
                # Snakemake has typed a top-level scalar already (int, float, bool, then text).
                target[key] = _typed(value) if path or isinstance(value, Mapping | list) else value

    merge(config, overrides, ())
    return config


# The tags of plain YAML scalars that are not text, as a config file would read them (dates stay text).
_TYPED_TAGS = {f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float", "null")}
_RESOLVER = yaml.resolver.Resolver()


def _typed(value: object) -> object:
    """A command-line value with its text scalars read as YAML reads plain scalars in a file."""
    if isinstance(value, Mapping):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, str) and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) in _TYPED_TAGS:
        return yaml.safe_load(value)
    return value


def _sorted_keys(node: object) -> object:
    if isinstance(node, dict):
        return {key: _sorted_keys(node[key]) for key in sorted(node)}
    if isinstance(node, list):
        return [_sorted_keys(item) for item in node]
    return node


def load_config(path: str | Path, schema_path: str | Path) -> dict:
    return validate_config(load_config_file(path), load_schema(schema_path))


def schema_rows(schema: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    for name, sub in schema.get("properties", {}).items():
        yield prefix + name, sub
        yield from schema_rows(sub, f"{prefix}{name}.")
    entry = schema.get("additionalProperties")
    if isinstance(entry, dict):
        yield from schema_rows(entry, f"{prefix}<name>.")


def _kind(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join("null" if v is None else str(v) for v in node["enum"])
    kind = node.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else kind


def _default(node: dict) -> str:
    if "default" not in node:
        # A default that depends on another key (an external judge's method) is documented, not filled in.
        return node.get("x-default", "required")
    if node.get("type") == "object" and "properties" in node:
        return "(see keys below)"
    return yaml.safe_dump(node["default"], default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def reference_table(schema: dict) -> str:
    """The markdown table of every key of the schema, as config/README.md shows it."""
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for key, node in schema_rows(schema):
        description = " ".join(node.get("description", "").split()).replace("|", "\\|")
        default = _default(node).replace("|", "\\|")
        lines.append(f"| `{key}` | {_kind(node)} | `{default}` | {description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(reference_table(load_schema(sys.argv[1])))
