from pathlib import Path

import pytest
import yaml

from agon.config import (
    ConfigError,
    load_config,
    load_schema,
    merge_command_line,
    name_maps,
    reference_table,
    run_notes,
    schema_rows,
    validate_config,
)

from .testing_utils import REPO

SCHEMA = load_schema(REPO / "config" / "schema.yaml")


def test_empty_config_gets_every_default():
    config = validate_config({}, SCHEMA)
    assert config["run"] == "default"
    assert config["generation"]["temperature"] == 1.0
    assert config["embedded"]["sft"]["learning_rate"] == 2.0e-3
    assert config["task"]["arithmetic"]["operations"] == ["+", "-"]
    assert set(config["models"]) == {"ada", "bix", "cyr", "dov"}
    # defaults inside each model entry are filled too
    assert config["models"]["ada"]["adapter"] is None
    # a default that depends on the population is resolved: 4 members judged by peers leave 2 judges per duel
    assert config["pairs"]["min_judges"] == 2


def test_shipped_default_config_is_valid_and_equals_the_schema_defaults():
    # `snakemake` without a config file must run the same embedded default as config/config.yaml
    config = load_config(REPO / "config" / "config.yaml", REPO / "config" / "schema.yaml")
    assert config == validate_config({}, SCHEMA)


def test_unknown_key_is_named_with_the_allowed_keys():
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) 'temprature' at 'generation'; allowed keys: .*temperature"
    ):
        validate_config({"generation": {"temprature": 0.7}}, SCHEMA)


def test_wrong_value_names_the_key_and_what_was_expected():
    with pytest.raises(ConfigError) as err:
        validate_config({"generation": {"top_p": 1.5}}, SCHEMA)
    message = str(err.value)
    assert "config key 'generation.top_p'" in message
    assert "1.5 is greater than the maximum of 1" in message
    assert "Nucleus sampling mass" in message


def test_bad_enum_and_bad_model_name_are_both_reported():
    with pytest.raises(ConfigError) as err:
        validate_config({"protocol": "arena", "models": {"bad name": {"base": "embedded"}}}, SCHEMA)
    message = str(err.value)
    assert "config key 'protocol': 'arena' is not one of ['tribe', 'selfplay', 'debate']\n" in message + "\n"
    assert "config key 'models': 'bad name' is not a plain name (letters, digits, '_', '-' and single dots" in message
    assert "[A-Za-z" not in message  # the rule in words, never the regex


def test_expected_is_the_first_sentence_of_the_description():
    # the schema's description of `iterations` goes on about iter_N and iteration 0: that is config/README.md's
    with pytest.raises(ConfigError) as err:
        validate_config({"iterations": "x"}, SCHEMA)
    assert str(err.value).endswith(
        "config key 'iterations': 'x' is not of type 'integer' (expected: Self-play iterations)"
    )


@pytest.mark.parametrize(
    ("models", "signal", "min_judges"),
    [
        (["a", "b", "c", "d"], "peer", 2),  # the default population: both members outside a duel
        (["a", "b", "c", "d", "e"], "peer", 2),  # at most 2
        (["a", "b", "c"], "peer", 1),  # docs/gpu_population.md's three members: one judge per duel
        (["a", "b", "c", "d"], "verifier", 1),  # one judge, whatever the population
        (["a", "b"], "verifier", 1),
    ],
)
def test_min_judges_left_out_fits_the_population(models, signal, min_judges):
    judging = {"judges": [signal], "signal": signal}
    config = validate_config({"models": {m: {"base": "embedded"} for m in models}, "judging": judging}, SCHEMA)
    assert config["pairs"]["min_judges"] == min_judges


def test_run_notes_say_what_the_workflow_would_not_otherwise_say():
    assert run_notes(validate_config({}, SCHEMA)) == [
        "pairs.min_judges is 2: a duel makes a pair only if 2 of its 2 judges (signal 'peer', 4 models) give a "
        "valid verdict"
    ]
    assert run_notes(validate_config({"iterations": 0}, SCHEMA)) == [
        "iterations: 0: this run builds and evaluates the initial population only (no duels, no training)"
    ]
    assert run_notes(validate_config({"protocol": "debate"}, SCHEMA)) == []


def test_the_maps_of_names_are_the_open_objects_of_the_schema():
    assert sorted(name_maps(SCHEMA)) == [
        ("judging", "external"),
        ("models",),
        ("rating", "sparta_static", "weights"),
        ("tribe", "initial_ratings"),
    ]


def test_a_map_of_names_given_on_the_command_line_replaces_the_config_files():
    # what Snakemake hands the workflow: --config merged into the file's config, name by name (eve joined ada)
    merged = {
        "models": {"ada": {"base": "embedded"}, "eve": {"base": "org/eve"}},
        "judging": {"signal": "peer", "external": {"rm": {"method": "reward_model", "model": "m"}, "gpt": {}}},
        "iterations": 1,
    }
    overrides = {"models": {"eve": {"base": "org/eve"}}, "judging": {"external": {"gpt": {}}}, "iterations": 1}
    config = merge_command_line(merged, overrides, SCHEMA)
    assert config == {
        "models": {"eve": {"base": "org/eve"}},
        "judging": {"signal": "peer", "external": {"gpt": {}}},  # keys beside the map keep the file's values
        "iterations": 1,
    }
    assert overrides["models"] is not config["models"]  # a copy: validation fills defaults into the config only


def test_scalars_inside_a_command_line_mapping_are_read_as_a_config_file_reads_them():
    # Snakemake reads the scalars of --config models='{eve: {base: embedded, layers: 3}}' as text
    overrides = {"models": {"eve": {"base": "embedded", "layers": "3", "target_accuracy": "0.6", "adapter": "null"}}}
    config = merge_command_line({"seed": 1}, overrides, SCHEMA)
    assert config["models"] == {"eve": {"base": "embedded", "layers": 3, "target_accuracy": 0.6, "adapter": None}}
    # text that only looks like a mapping stays text; so do dates, which a config value never is
    config = merge_command_line({}, {"task": {"source": "/data/a: b", "name": "2020-01-01"}}, SCHEMA)
    assert config["task"] == {"source": "/data/a: b", "name": "2020-01-01"}


def test_model_without_base_is_rejected():
    with pytest.raises(ConfigError, match=r"config key 'models.x': 'base' is a required property"):
        validate_config({"models": {"x": {"adapter": "a"}}}, SCHEMA)


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        (
            {"method": "reward_model", "model": "m", "base_url": "http://h/v1"},
            r"unknown key\(s\) 'base_url' at 'judging.external.j' for method reward_model; allowed keys: batch_size",
        ),
        ({"method": "api", "model": "m"}, r"'judging.external.j': 'base_url' is a required property for method api"),
        ({"method": "pairwise"}, r"'judging.external.j': 'model' is a required property for method pairwise"),
        ({"method": "api", "model": "m", "base_url": "http://h/v1", "top_k": 1}, r"'top_k' at .* for method api"),
    ],
)
def test_an_external_judge_takes_the_keys_of_its_method(judge, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({"judging": {"external": {"j": judge}}}, SCHEMA)


def test_one_bootstrap_round_is_refused():
    with pytest.raises(ConfigError, match=r"'rating.bradley_terry.bootstrap_rounds': 1 is not allowed"):
        validate_config({"rating": {"bradley_terry": {"bootstrap_rounds": 1}}}, SCHEMA)


def test_preference_pool_must_hold_a_fresh_slice_per_iteration():
    with pytest.raises(ConfigError, match=r"task.preference_size': 1000 .* need at least 1500"):
        validate_config({"iterations": 3, "task": {"preference_size": 1000, "prompts_per_iteration": 500}}, SCHEMA)


def test_heads_must_divide_hidden_size():
    with pytest.raises(ConfigError, match=r"embedded.model.heads': 3 must divide"):
        validate_config({"embedded": {"model": {"heads": 3}}}, SCHEMA)


def test_embedded_only_keys_on_a_real_model_are_rejected():
    with pytest.raises(ConfigError, match=r"models.real.sft_steps': only embedded members"):
        validate_config({"models": {"real": {"base": "org/model", "sft_steps": 10}}}, SCHEMA)


def test_every_schema_key_has_a_description_and_a_default():
    for key, node in schema_rows(SCHEMA):
        assert node.get("description"), key
        required = {"models.<name>.base", "judging.external.<name>.method", "judging.external.<name>.model"}
        assert "default" in node or "x-default" in node or key in required, key


def test_config_readme_documents_every_key_as_the_schema_says():
    assert reference_table(SCHEMA) in (REPO / "config" / "README.md").read_text()


def test_default_floats_are_numbers_not_strings():
    # YAML 1.1 reads 1e-3 as a string; every numeric default must load as a number.
    config = validate_config({}, SCHEMA)
    assert isinstance(config["embedded"]["sft"]["learning_rate"], float)
    assert yaml.safe_load(Path(REPO / "config" / "config.yaml").read_text())["seed"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"judging": {"judges": ["verifier"], "signal": "peer"}}, r"judging.signal': 'peer' must be one of"),
        ({"models": {"a": {"base": "embedded"}, "b": {"base": "embedded"}}}, r"the 2 models \['a', 'b'\] leave none"),
        (
            {"protocol": "selfplay"},
            r"'generation.samples_per_prompt': selfplay compares a model's answers, so it needs >= 2",
        ),
        ({"training": {"loss_type": ["sppo"]}}, r"sppo needs each answer's win rate, which only protocol selfplay has"),
        (
            {
                "protocol": "selfplay",
                "generation": {"samples_per_prompt": 4},
                "training": {"loss_type": ["sppo", "ipo"]},
            },
            r"sppo combines only with sft",
        ),
        (
            {"protocol": "selfplay", "generation": {"samples_per_prompt": 4}, "models": {"a": {"base": "embedded"}}},
            r"selfplay needs at least 2 models for them, got 1",
        ),
        (
            {"protocol": "debate", "judging": {"judges": ["verifier"], "signal": "verifier"}},
            r"a debate's judge must read the transcript",
        ),
        ({"protocol": "debate", "models": {"a": {"base": "embedded"}}}, r"a debate needs two debaters, got \['a'\]"),
        (
            {"models": {"a": {"base": "embedded"}}, "judging": {"judges": ["verifier"], "signal": "verifier"}},
            r"needs at least 2 models to duel",
        ),
        ({"tribe": {"initial_ratings": {"zed": 60.0}}}, r"tribe.initial_ratings': \['zed'\] are not models"),
        ({"training": {"loss_type": ["sigmoid"], "loss_weights": [1.0, 1.0]}}, r"2 weights for 1 loss types"),
        ({"rating": {"bradley_terry": {"anchor": "zed"}}}, r"bradley_terry.anchor': 'zed' is not a model"),
        ({"pairs": {"min_judges": 3}}, r"pairs.min_judges': 3 judges per duel cannot be met: .* leaves 2 judge"),
        ({"rating": {"sparta_static": {"weights": {"zed": 1.0}}}}, r"sparta_static.weights': \['zed'\] are neither"),
        ({"gpus_per_job": 4, "training": {"batch_size": 6}}, r"training.batch_size': 6 pairs per step cannot be split"),
        ({"rating": {"sparta": {"initial_rating": 5.0}}}, r"rating.sparta': initial_rating 5.0 must be >= floor 10.0"),
    ],
)
def test_tribe_cross_key_problems_are_named(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_key_order_does_not_change_the_validated_config():
    # Snakemake compares params as written: reordered keys must not look like a changed config.
    first = validate_config(
        {
            "task": {"heldout_size": 20, "preference_size": 9000},
            "models": {"b": {"base": "x"}, "a": {"base": "y"}, "c": {"base": "z"}, "d": {"base": "w"}},
        },
        SCHEMA,
    )
    second = validate_config(
        {
            "models": {"b": {"base": "x"}, "a": {"base": "y"}, "c": {"base": "z"}, "d": {"base": "w"}},
            "task": {"preference_size": 9000, "heldout_size": 20},
        },
        SCHEMA,
    )
    assert repr(first) == repr(second)
    assert list(first["models"]) == ["b", "a", "c", "d"]  # the population keeps its order: it is the members' order
    assert list(first["task"]) == sorted(first["task"])


@pytest.mark.parametrize(
    "path",
    [
        "config/config.yaml",
        "config/selfplay.yaml",
        "config/debate.yaml",
        *(f"tests/config/{p.name}" for p in sorted((REPO / "tests" / "config").glob("*.yaml"))),
    ],
)
def test_every_shipped_config_is_valid(path):
    config = validate_config(yaml.safe_load((REPO / path).read_text()), SCHEMA)
    assert config["protocol"] in ("tribe", "selfplay", "debate")


def test_an_engine_wider_than_a_job_is_named():
    config = {"gpus_per_job": 1, "generation": {"backend": "vllm", "vllm": {"tensor_parallel_size": 2}}}
    with pytest.raises(
        ConfigError, match=r"tensor_parallel_size': 2 GPUs per engine, but gpus_per_job gives each job 1"
    ):
        validate_config(config, SCHEMA)
