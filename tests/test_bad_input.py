"""The bad-input catalogue (issue 9, docs/bad_input.md): every way a user's config, data, model files or endpoints
can be wrong, and what Agon does about it. Each case ends in a clear error that names the key, file or value,
raised before any model loads where the input allows it, or in a documented degradation that is counted where
the run can see it (a log line, pairs/stats.json, train_metrics.json). No case guesses a value, and none deletes
a finished output.

Most cases call the package on small files in tmp_path; the last ones run real Snakemake.
"""

import json
import logging
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from safetensors.torch import load_file

from agon.config import ConfigError, load_config_file, load_schema, validate_config
from agon.contracts import GENERATIONS, JUDGMENTS, MATCHES, PAIRS, PROMPTS, ContractError, read_table, write_table
from agon.files import read_json, write_json
from agon.generation import Completion, SamplingConfig, generate_responses, make_generator
from agon.judging import DUEL_COLUMNS, duels_frame
from agon.judging.api import Reply, build_api_judge, verdict
from agon.judging.peer import score_verdict
from agon.judging.reference import reference_verdict
from agon.judging.verifier import VerifierJudge
from agon.models import ModelFileError, ModelSpec, load_for_inference, load_tokenizer
from agon.ratings import rate_iteration
from agon.tasks import write_iteration_prompts
from agon.tasks.arithmetic import extract_answer
from agon.training import TrainConfig, train_adapter
from agon.tribe.pairs import PairsConfig, make_pairs

from .testing_utils import (
    MICRO,
    REPO,
    TINY_TRAINING,
    Silent,
    duels,
    jobs_run,
    pairs_frame,
    serving,
    snakemake,
)

SCHEMA = load_schema(REPO / "config" / "schema.yaml")
TINY = TrainConfig(**TINY_TRAINING)
THREE = {"a": {"base": "embedded"}, "b": {"base": "embedded"}, "c": {"base": "embedded"}}


def config_error(config: dict) -> str:
    """The message of the ConfigError that ``config`` raises."""
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    return str(error.value)


# --- config: typos, types, numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        # a typo of a nested key: named, with the allowed keys and the closest one
        (
            {"generation": {"temprature": 0.7}},
            "unknown key(s) 'temprature' at 'generation'; allowed keys: backend, batch_size, max_new_tokens, "
            "one_load, samples_per_prompt, shards, temperature, top_k, top_p, vllm; did you mean 'temperature' for "
            "'temprature'?",
        ),
        # a typo at the top level
        ({"iteration": 2}, "unknown key(s) 'iteration' at the top level; allowed keys: "),
        # text where a number belongs
        ({"iterations": "three"}, "config key 'iterations': 'three' is not of type 'integer'"),
        # JSON schema calls 3.0 an integer; the workflow's range(3.0) would fail far from the key
        ({"iterations": 3.0}, "config key 'iterations': 3.0 is not of type 'integer'"),
        # YAML 1.1 reads 1e-3 as a string: the message says how to write it
        (
            {"training": {"learning_rate": "1e-3"}},
            "config key 'training.learning_rate': '1e-3' is not of type 'number' (YAML read it as text: write numbers "
            "unquoted, with a dot before any exponent, e.g. 1.0e-3)",
        ),
        # a boolean is an int to Python, not to the schema
        ({"generation": {"batch_size": True}}, "config key 'generation.batch_size': True is not of type 'integer'"),
        # negative and zero numbers
        ({"seed": -1}, "config key 'seed': -1 is less than the minimum of 0"),
        ({"generation": {"max_new_tokens": 0}}, "config key 'generation.max_new_tokens': 0 is less than the minimum"),
        (
            {"training": {"learning_rate": 0.0}},
            "config key 'training.learning_rate': 0.0 is less than or equal to the minimum of 0",
        ),
        # a choice outside its enum
        ({"rating": {"scheme": "trueskill"}}, "config key 'rating.scheme': 'trueskill' is not one of ['sparta', "),
        # a typo of a choice: the closest one, and no schema paragraph about each choice
        (
            {"judging": {"peer_mode": "refrence"}},
            "config key 'judging.peer_mode': 'refrence' is not one of ['likelihood', 'score', 'reference']; "
            "did you mean 'reference'?",
        ),
        # a list that must not be empty
        (
            {"task": {"arithmetic": {"operations": []}}},
            "config key 'task.arithmetic.operations': [] should be non-empty",
        ),
    ],
    ids=[
        "typo_nested",
        "typo_top_level",
        "text_for_integer",
        "float_for_integer",
        "yaml_1e-3_string",
        "bool_for_integer",
        "negative",
        "zero_length",
        "zero_learning_rate",
        "unknown_enum_value",
        "enum_typo",
        "empty_list",
    ],
)
def test_a_bad_value_is_named_with_its_key(config, message):
    assert message in config_error(config)


def test_a_wrong_value_says_what_is_expected_in_one_sentence():
    # the description of `iterations` has three sentences; the message takes the first
    assert config_error({"iterations": "three"}) == (
        "invalid config:\n  config key 'iterations': 'three' is not of type 'integer' (expected: Self-play iterations)"
    )


# --- config: names --------------------------------------------------------------------------------------------


def test_a_key_that_names_models_refuses_an_unknown_model():
    message = config_error(
        {"models": THREE, "pairs": {"min_judges": 1}, "rating": {"bradley_terry": {"anchor": "zed"}}}
    )
    assert "config key 'rating.bradley_terry.anchor': 'zed' is not a model of the population ['a', 'b', 'c']" in message


def test_an_unknown_judge_is_named():
    message = config_error({"judging": {"judges": ["peer", "verifier", "gpt4"]}})
    assert "config key 'judging.judges': ['gpt4'] are neither peer, logprob, verifier nor judges defined" in message


def test_a_judge_typo_gets_the_closest_judge():
    message = config_error({"judging": {"judges": ["peeer", "verifier"], "signal": "peeer"}})
    assert message == (
        "invalid config:\n  config key 'judging.judges': ['peeer'] are neither peer, logprob, verifier nor judges "
        "defined under judging.external []; did you mean 'peer' for 'peeer'?"
    )


def test_a_signal_typo_is_one_problem_with_the_closest_judge():
    # the pair filter, counting judges for an unknown signal, used to add a second, misleading problem
    assert config_error({"judging": {"signal": "peeer"}}) == (
        "invalid config:\n  config key 'judging.signal': 'peeer' must be one of judging.judges ['peer', 'verifier']; "
        "did you mean 'peer'?"
    )


def test_a_signal_judge_that_does_not_run_is_named_with_the_fix():
    message = config_error({"judging": {"judges": ["peer", "verifier"], "signal": "logprob"}})
    assert message == (
        "invalid config:\n  config key 'judging.signal': 'logprob' must be one of judging.judges ['peer', 'verifier']; "
        "add it to judging.judges"
    )


@pytest.mark.parametrize(
    ("protocol", "outsiders"), [("tribe", "the verifier or an external judge"), ("debate", "an external judge")]
)
def test_two_members_judged_by_peers_get_one_message_with_the_ways_out(protocol, outsiders):
    message = config_error({"protocol": protocol, "models": {"a": {"base": "embedded"}, "b": {"base": "embedded"}}})
    assert message == (
        "invalid config:\n  config key 'judging.judges': ['peer'] judges are the members outside a duel, and the 2 "
        "models ['a', 'b'] leave none; add a third model, or drop peer from judging.judges and make judging.signal "
        f"{outsiders} (judging.external, docs/judges.md)"
    )


def test_two_members_judged_by_the_verifier_run_tribe():
    two = {"a": {"base": "embedded"}, "b": {"base": "embedded"}}
    config = validate_config({"models": two, "judging": {"judges": ["verifier"], "signal": "verifier"}}, SCHEMA)
    assert config["pairs"]["min_judges"] == 1


def test_min_judges_a_population_cannot_meet_is_refused_with_the_fix():
    # left out, min_judges is what the population allows (1 here); given, it is taken at its word
    assert validate_config({"models": THREE}, SCHEMA)["pairs"]["min_judges"] == 1
    assert config_error({"models": THREE, "pairs": {"min_judges": 2}}) == (
        "invalid config:\n  config key 'pairs.min_judges': 2 judges per duel cannot be met: signal 'peer' with 3 "
        "models leaves 1 judge(s) outside a duel; set it to 1 or leave it out (null: as many as a duel has, at most 2)"
    )


@pytest.mark.parametrize("name", ["qwen2.5-0.5b", "Llama-3.2-1B-Instruct", "smol_v2.1"])
def test_hub_style_names_with_dots_are_plain_names(name):
    config = validate_config({"models": {**THREE, name: {"base": "embedded"}}, "judging": {"external": {}}}, SCHEMA)
    assert name in config["models"]


@pytest.mark.parametrize("name", ["a..b", "qwen.", "a. b"], ids=["double_dot", "final_dot", "space"])
def test_a_name_that_is_not_plain_is_described_in_words(name):
    message = config_error({"models": {**THREE, name: {"base": "embedded"}}})
    assert message == (
        f"invalid config:\n  config key 'models': {name!r} is not a plain name (letters, digits, '_', '-' and single "
        "dots, starting with a letter or digit and not ending in a dot); names become file names under results/"
    )


def test_an_unknown_external_judge_method_is_named():
    message = config_error({"judging": {"external": {"gpt": {"method": "chat", "model": "m"}}}})
    assert (
        "config key 'judging.external.gpt.method': 'chat' is not one of ['reward_model', 'pairwise', 'api']" in message
    )


def test_a_judge_listed_twice_is_refused():
    message = config_error({"judging": {"judges": ["peer", "verifier", "peer"]}})
    assert "config key 'judging.judges': ['peer', 'verifier', 'peer'] has non-unique elements" in message


def test_an_external_judge_named_like_a_model_is_refused():
    external = {"a": {"method": "api", "base_url": "http://h/v1", "model": "m"}}
    message = config_error({"models": THREE, "pairs": {"min_judges": 1}, "judging": {"external": external}})
    assert "config key 'judging.external': ['a'] are also model or judge method names" in message


def test_a_model_named_like_a_judge_method_is_refused():
    # a member judges under its own name: a model "verifier" would share the verifier's verdicts and weight
    message = config_error({"models": {**THREE, "verifier": {"base": "embedded"}}})
    assert "config key 'models': ['verifier'] are judge names (peer, logprob, verifier)" in message


def test_names_that_differ_only_in_case_are_refused():
    message = config_error({"models": {"ada": {"base": "embedded"}, "Ada": {"base": "embedded"}, "c": {"base": "x"}}})
    assert "names ['ada', 'Ada'] differ only in case; a case-insensitive file system" in message


# --- config files -----------------------------------------------------------------------------------------------


def test_a_key_repeated_in_a_config_file_is_an_error_not_a_silent_merge(tmp_path):
    # PyYAML (and so Snakemake) keeps the last of two `ada:` keys: the first member would vanish without a word
    path = tmp_path / "c.yaml"
    path.write_text("models:\n  ada: {base: embedded}\n  bix: {base: embedded}\n  ada: {base: org/model}\n")
    with pytest.raises(ConfigError, match=r"c.yaml, line 4: key 'ada' repeats line 2 in the same mapping"):
        load_config_file(path)


def test_a_config_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes("run: café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"c.yaml: not UTF-8 text \(byte 8: invalid continuation byte\)"):
        load_config_file(path)


def test_a_config_file_that_is_not_yaml_is_named_with_its_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("models:\n  ada: {base: embedded\nrun: x\n")
    with pytest.raises(ConfigError, match=r"c.yaml: not valid YAML: .* line 3"):
        load_config_file(path)


def test_a_config_file_that_is_not_a_mapping_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- run: x\n")
    with pytest.raises(ConfigError, match=r"c.yaml: the config must be a mapping of keys to values"):
        load_config_file(path)


# --- data files -------------------------------------------------------------------------------------------------


def prompts(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prompt_id": [f"p{k}" for k in range(n)],
            "prompt": [f"What is {k}+1?" for k in range(n)],
            "reference": [str(k + 1) for k in range(n)],
            "split": "preference",
        },
        columns=PROMPTS.columns,
    )


def test_a_missing_dataset_file_is_named(tmp_path):
    with pytest.raises(ContractError, match=r"pool.parquet: prompts table not found"):
        write_iteration_prompts(str(tmp_path / "pool.parquet"), str(tmp_path / "out.parquet"), 0, 4)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("content", [b"", b"\x00garbage\xff" * 64], ids=["empty_file", "random_bytes"])
def test_a_file_that_is_not_parquet_is_named(tmp_path, content):
    path = tmp_path / "pool.parquet"
    path.write_bytes(content)
    with pytest.raises(ContractError, match=r"pool.parquet: not a readable parquet file"):
        read_table(path, PROMPTS)


def test_a_dataset_without_rows_is_named_by_what_it_lacks(tmp_path):
    write_table(prompts(0), tmp_path / "pool.parquet", PROMPTS)
    with pytest.raises(ValueError, match=r"iteration 0 needs preference prompts 0..3, but the pool holds 0"):
        write_iteration_prompts(str(tmp_path / "pool.parquet"), str(tmp_path / "out.parquet"), 0, 4)


def test_a_table_with_a_missing_column_is_named(tmp_path):
    pq.write_table(pa.Table.from_pandas(prompts(3).drop(columns="reference")), tmp_path / "pool.parquet")
    with pytest.raises(ContractError, match=r"pool.parquet: prompts table lacks column\(s\) \['reference'\]"):
        read_table(tmp_path / "pool.parquet", PROMPTS)


def test_a_column_of_the_wrong_type_is_named(tmp_path):
    pq.write_table(pa.Table.from_pandas(prompts(3).assign(prompt_id=[1, 2, 3])), tmp_path / "pool.parquet")
    with pytest.raises(
        ContractError, match=r"pool.parquet: column 'prompt_id' of the prompts table has type int64, expected string"
    ):
        read_table(tmp_path / "pool.parquet", PROMPTS)


def test_a_truncated_json_document_is_named(tmp_path):
    write_json({"scheme": "sparta", "models": {}}, tmp_path / "ratings.json")
    text = (tmp_path / "ratings.json").read_text()
    (tmp_path / "ratings.json").write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"ratings.json: not a readable JSON file"):
        read_json(tmp_path / "ratings.json")


def generations(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Generations from (model, prompt_id, response), sample 0."""
    return pd.DataFrame(
        [(pid, "q", model, 0, text, 1, "stop", 0, "hf", "") for model, pid, text in rows], columns=GENERATIONS.columns
    )


def matches(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Matches from (match_id, prompt_id, model_a, model_b) on "What is 0+1?" (reference 1)."""
    return pd.DataFrame([(mid, 0, pid, "What is 0+1?", "1", a, b) for mid, pid, a, b in rows], columns=MATCHES.columns)


def test_generations_that_answer_one_prompt_twice_are_refused():
    answers = generations([("a", "p0", "1"), ("a", "p0", "2"), ("b", "p0", "1")])
    with pytest.raises(ValueError, match=r"generations hold more than one answer 0 of model a to prompt p0"):
        duels_frame(matches([("m0", "p0", "a", "b")]), answers)


def test_generations_missing_a_duellists_answer_are_refused():
    with pytest.raises(ValueError, match=r"no answer of model b to prompt p0 \(match m0\) in the generations"):
        duels_frame(matches([("m0", "p0", "a", "b")]), generations([("a", "p0", "1")]))


# --- chat templates and model files -------------------------------------------------------------------------


def test_a_chat_template_file_that_is_not_utf8_is_named_before_the_tokenizer_loads(tmp_path):
    template = tmp_path / "chat.jinja"
    template.write_bytes("{{ messages[0]['content'] }} \N{EN DASH} ".encode("cp1252"))  # a Windows editor's dash
    spec = ModelSpec(name="m", base=str(tmp_path / "never-loaded"), chat_template=str(template))
    with pytest.raises(ModelFileError, match=r"model m: chat_template file .*chat.jinja is not UTF-8 text"):
        load_tokenizer(spec)


def test_a_missing_chat_template_file_is_named(tmp_path):
    spec = ModelSpec(name="m", base="unused", chat_template=str(tmp_path / "chat.jinja"))
    with pytest.raises(FileNotFoundError, match=r"model m: chat_template file .*chat.jinja not found"):
        load_tokenizer(spec)


def test_a_chat_template_path_without_the_jinja_suffix_is_not_taken_for_a_template(tmp_path):
    # rendered as a template, "templates/chatml.j2" would become every prompt
    spec = ModelSpec(name="m", base="unused", chat_template="templates/chatml.j2")
    with pytest.raises(ModelFileError, match=r"model m: chat_template holds no Jinja markup .* ending in .jinja"):
        load_tokenizer(spec)


def test_a_chat_template_that_cannot_render_is_named(tiny_member):
    spec = ModelSpec(name="m", base=str(tiny_member), chat_template="{% for m in messages %}{{ m['content'] }}")
    with pytest.raises(ModelFileError, match=r"model m: the chat template cannot render a user turn: .*endfor"):
        load_tokenizer(spec)


def test_a_tokenizer_without_a_chat_template_is_named(tmp_path, tiny_member):
    base = tmp_path / "model"
    shutil.copytree(tiny_member, base)
    (base / "chat_template.jinja").unlink()
    with pytest.raises(ValueError, match=r"model m: tokenizer of .*model has no chat template; set chat_template"):
        load_tokenizer(ModelSpec(name="m", base=str(base)))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda base: shutil.rmtree(base), r"model m: model directory .*model not found"),
        (lambda base: (base / "config.json").unlink(), r"model m: .*model holds no config.json"),
        (
            lambda base: (base / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json"),
            r"model m: .*model.safetensors is not a readable safetensors file",
        ),
    ],
    ids=["missing", "no_config", "garbage_weights"],
)
def test_a_broken_model_directory_is_named_before_any_weights_load(tmp_path, tiny_member, damage, message):
    base = tmp_path / "model"
    shutil.copytree(tiny_member, base)
    damage(base)
    with pytest.raises(ModelFileError, match=message):
        load_for_inference(ModelSpec(name="m", base=str(base)), torch.device("cpu"))


@pytest.fixture
def adapter(tmp_path, tiny_member) -> Path:
    """A fresh LoRA adapter of the tiny member, saved as iteration 0 would save it."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_member), TINY.lora())
    model.save_pretrained(tmp_path / "adapter")
    return tmp_path / "adapter"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda a: (a / "adapter_config.json").unlink(), r"adapter .*adapter holds no adapter_config.json"),
        (lambda a: (a / "adapter_config.json").write_text('{"r": 4,'), r"adapter_config.json is not readable JSON"),
        (
            lambda a: (a / "adapter_model.safetensors").write_bytes(b"not safetensors"),
            r"adapter_model.safetensors is not a readable safetensors file",
        ),
        (lambda a: (a / "adapter_model.safetensors").unlink(), r"adapter holds no weights \(adapter_model.safetensors"),
    ],
    ids=["no_config", "config_not_json", "garbage_weights", "no_weights"],
)
def test_a_corrupt_adapter_fails_before_training_starts(tmp_path, tiny_member, adapter, damage, message):
    damage(adapter)
    write_table(pairs_frame(4), tmp_path / "pairs.parquet", PAIRS)
    spec = ModelSpec(name="m", base=str(tiny_member), adapter=str(adapter))
    started = time.monotonic()
    with pytest.raises(ModelFileError, match=f"model m: .*{message}"):
        train_adapter(tmp_path / "pairs.parquet", tmp_path / "out", spec, TINY, device="cpu", seed=0)
    assert time.monotonic() - started < 5 and not (tmp_path / "out").exists()


# --- generation and judging -------------------------------------------------------------------------------------


def test_prompts_longer_than_the_context_are_counted_in_generation(tiny_member, caplog):
    # the tiny member's context is 32 tokens; generation goes on past it (debate does so by design), counted
    generator = make_generator("hf", ModelSpec(name="m", base=str(tiny_member)), "cpu")
    long, short = "What is 1+2? " * 8, "What is 1+2?"
    with caplog.at_level(logging.WARNING, logger="agon.generation.hf_backend"):
        answers = generator.generate([long, short, long], SamplingConfig(max_new_tokens=4, temperature=0.0), 0)
    assert len(answers) == 3
    assert "model m: 2 of 3 prompts plus max_new_tokens=4 exceed its context of 32 tokens" in caplog.text


def test_prompts_longer_than_the_training_context_fail_before_the_model_loads(tmp_path, tiny_member, monkeypatch):
    write_table(pairs_frame(3).assign(prompt="What is 1+2? " * 8), tmp_path / "pairs.parquet", PAIRS)

    def no_model(*args, **kwargs):
        raise AssertionError("the model loaded")

    monkeypatch.setattr("agon.training._policy", no_model)
    with pytest.raises(ValueError, match=r"pairs.parquet: every prompt of the 3 pairs fills training.max_length=32"):
        train_adapter(
            tmp_path / "pairs.parquet", tmp_path / "out", ModelSpec("m", str(tiny_member)), TINY, device="cpu", seed=0
        )


class Empty:
    """A generator that answers every prompt with nothing, as a model that ends at once does."""

    backend = "fake"

    def generate_population(self, prompts, sampling, seeds):
        return {name: [[Completion("", 0, "stop")] for _ in member] for name, member in prompts.items()}


def test_empty_answers_are_kept_and_counted(tmp_path, monkeypatch, caplog):
    write_table(prompts(3), tmp_path / "p.parquet", PROMPTS)
    monkeypatch.setattr("agon.generation.make_population_generator", lambda *args: Empty())
    with caplog.at_level(logging.WARNING, logger="agon.generation"):
        generate_responses(
            {"m": tmp_path / "p.parquet"},
            tmp_path / "g.parquet",
            [ModelSpec("m", "unused")],
            SamplingConfig(),
            backend="hf",
            device="cpu",
            seeds={"m": 0},
        )
    assert read_table(tmp_path / "g.parquet", GENERATIONS)["response"].tolist() == ["", "", ""]
    assert "model m: 3 of 3 answers are empty" in caplog.text


def test_an_empty_answer_is_a_wrong_answer_to_the_verifier():
    duel = pd.DataFrame([("m0", "What is 0+1?", "1", "a", "b", "", "1")], columns=DUEL_COLUMNS)
    judged = VerifierJudge("integer").judge(duel)
    assert judged[["score_a", "score_b", "preference", "valid"]].values.tolist() == [[0.0, 1.0, -1.0, True]]


@pytest.mark.parametrize(
    ("judge", "error"),
    [
        (lambda: score_verdict("m0", "ab", ""), 'no verdict of the form "A: <score> B: <score>"'),
        (lambda: verdict("m0", "ab", Reply(text="")), "reply holds no standalone choice letter A or B"),
        (lambda: reference_verdict("m0", "", "1", "2", extract_answer), "the judge's own answer holds no answer"),
    ],
    ids=["peer_score", "api", "peer_reference"],
)
def test_an_empty_judge_reply_is_an_invalid_verdict_not_a_default_score(judge, error):
    judged = judge()
    assert (judged.score_a, judged.score_b, judged.preference) == (None, None, None)
    assert judged.error.startswith(error)


def test_an_unparsable_score_is_invalid_never_five():
    judged = score_verdict("m0", "ab", "A: 11 B: 3")
    assert judged.preference is None and judged.error == "scores A: 11 B: 3 outside 1..10"


def invalid_judgments(match_ids: list[str], judge: str) -> pd.DataFrame:
    rows = [
        (mid, judge, "peer", order, None, None, None, "???", False, "unparsable")
        for mid in match_ids
        for order in ("ab", "ba")
    ]
    return pd.DataFrame(rows, columns=JUDGMENTS.columns).astype(
        {"score_a": float, "score_b": float, "preference": float}
    )


def test_a_duel_where_every_judge_is_invalid_makes_no_pair_and_is_counted(tmp_path):
    write_table(matches([("m0", "p0", "a", "b"), ("m1", "p1", "a", "b")]), tmp_path / "m.parquet", MATCHES)
    answers = [("a", "p0", "1"), ("b", "p0", "2"), ("a", "p1", "3"), ("b", "p1", "1")]
    write_table(generations(answers), tmp_path / "g.parquet", GENERATIONS)
    write_table(invalid_judgments(["m0", "m1"], "c"), tmp_path / "j.parquet", JUDGMENTS)
    write_json({"judge_weights": {}, "tie_band": 0.0}, tmp_path / "ratings.json")
    make_pairs(
        tmp_path / "m.parquet",
        [tmp_path / "j.parquet"],
        [tmp_path / "g.parquet"],
        tmp_path / "ratings.json",
        {"a": tmp_path / "a.parquet"},
        tmp_path / "stats.json",
        PairsConfig(),
        evaluator="integer",
    )
    assert read_table(tmp_path / "a.parquet", PAIRS).empty
    stats = read_json(tmp_path / "stats.json")
    assert (stats["candidates"], stats["pairs"], stats["dropped"]["no_verdict"]) == (2, 0, 2)


def test_an_iteration_without_a_valid_verdict_leaves_the_ratings_and_says_so(tmp_path):
    write_table(matches([("m0", "p0", "a", "b")]), tmp_path / "m.parquet", MATCHES)
    write_table(invalid_judgments(["m0"], "c"), tmp_path / "j.parquet", JUDGMENTS)
    params = validate_config({}, SCHEMA)["rating"]["sparta"]
    document = rate_iteration(
        tmp_path / "m.parquet",
        [tmp_path / "j.parquet"],
        None,
        tmp_path / "r.json",
        "sparta",
        params,
        ["a", "b", "c"],
        0,
    )
    assert document["duels"] == 0
    assert {name: entry["rating"] for name, entry in document["models"].items()} == {"a": 50.0, "b": 50.0, "c": 50.0}


def test_zero_preference_pairs_skip_training_explicitly_and_save_the_adapter(tmp_path, tiny_member):
    write_table(pairs_frame(0), tmp_path / "pairs.parquet", PAIRS)
    spec = ModelSpec(name="m", base=str(tiny_member))
    metrics = train_adapter(tmp_path / "pairs.parquet", tmp_path / "adapter", spec, TINY, device="cpu", seed=0)
    assert metrics["skipped"] == "no pairs: a fresh adapter, equal to the base, is saved"
    saved = json.loads((tmp_path / "adapter" / "train_metrics.json").read_text())
    assert (saved["steps"], saved["pairs"], saved["skipped"]) == (0, 0, metrics["skipped"])
    weights = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert all(w.abs().sum() == 0 for name, w in weights.items() if "lora_B" in name)  # LoRA B at zero: the base


def test_a_judge_endpoint_that_times_out_fails_the_job_in_seconds(tmp_path):
    # test_judge_api covers the key's redaction on this path; here, only the time and the message
    started = time.monotonic()
    params = {"method": "api", "model": "m", "timeout_s": 0.3, "max_retries": 0}
    with (
        serving(Silent) as server,
        pytest.raises(RuntimeError, match=r"all 2 requests to .* failed; the first: APITimeout"),
    ):
        build_api_judge("j", {**params, "base_url": server.base_url}, cache_dir=tmp_path).judge(
            duels([("q", "1", "2")])
        )
    assert time.monotonic() - started < 5
    assert not list(tmp_path.rglob("*.json"))  # nothing cached: a re-run asks again


# --- the workflow: real Snakemake ------------------------------------------------------------------------------


def test_a_config_typo_stops_a_dry_run_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MICRO.read_text().replace("generation: {samples_per_prompt", "generation: {samples_per_promt"))
    result = snakemake("--dry-run", "--configfile", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert "did you mean 'samples_per_prompt' for 'samples_per_promt'?" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_a_config_error_prints_one_line_per_problem_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MICRO.read_text().replace("  cyr: {base: embedded, layers: 1}\n", ""))  # two members, peer judges
    result = snakemake("--dry-run", "--configfile", str(bad), cwd=tmp_path)
    console = result.stdout + result.stderr
    assert result.returncode == 1
    assert console.strip().splitlines() == [
        "invalid config:",
        "  config key 'judging.judges': ['peer'] judges are the members outside a duel, and the 2 models ['ada', "
        "'bix'] leave none; add a third model, or drop peer from judging.judges and make judging.signal the "
        "verifier or an external judge (judging.external, docs/judges.md)",
    ]


HUB_NAMES = {"ada": "qwen2.5-0.5b", "bix": "llama-3.2-1b", "cyr": "smol.v2"}


def dotted(tmp_path: Path) -> Path:
    """The micro config with Hub-style member names."""
    text = MICRO.read_text()
    for plain, hub in HUB_NAMES.items():
        text = text.replace(f"  {plain}: {{base", f"  {hub}: {{base")
    path = tmp_path / "dotted.yaml"
    path.write_text(text)
    return path


def test_hub_style_member_names_run_through_every_stage_of_a_dry_run(tmp_path):
    result = snakemake("--dry-run", "--configfile", dotted(tmp_path), cwd=tmp_path)
    console = result.stdout + result.stderr
    assert result.returncode == 0, console[-3000:]
    assert jobs_run(result)["embedded_member"] == 3
    for name in HUB_NAMES.values():
        assert f"results/micro/iter_1/adapters/{name}" in console  # trained in the last iteration
        assert f"results/micro/iter_2/eval/{name}.json" in console  # and evaluated after it
    # the pair filter the 3 members allow, said when the workflow starts
    assert "pairs.min_judges is 1: a duel makes a pair only if 1 of its 1 judge (signal 'peer', 3 models)" in console


def test_a_five_member_tribe_with_hub_style_names_runs_with_the_defaults(tmp_path):
    # two more members than the micro config, named as Hub checkpoints are, and no pair filter set: each duel has
    # 3 judges outside it, and the default filter asks 2 of them to agree
    members = {**{hub: {"base": "embedded"} for hub in HUB_NAMES.values()}, "phi-3.5": {"base": "embedded"}}
    members["gemma.2b-it"] = {"base": "embedded", "layers": 1}
    config = {**yaml.safe_load(MICRO.read_text()), "models": members, "pairs": {}}
    path = tmp_path / "five.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("--dry-run", "--configfile", path, cwd=tmp_path)
    console = result.stdout + result.stderr
    assert result.returncode == 0, console[-3000:]
    assert jobs_run(result)["embedded_member"] == 5
    assert "pairs.min_judges is 2: a duel makes a pair only if 2 of its 3 judges (signal 'peer', 5 models)" in console
    assert "results/micro/iter_1/adapters/gemma.2b-it" in console


def test_a_population_given_with_config_replaces_the_config_files(tmp_path):
    # Snakemake merges a --config map into the config file's, name by name: the file's three members would stay
    members = "{eve.1: {base: embedded, layers: 1}, fay: {base: embedded}, gus: {base: embedded}}"
    result = snakemake("--dry-run", "--config", f"models={members}", "--configfile", MICRO, cwd=tmp_path)
    console = result.stdout + result.stderr
    assert result.returncode == 0, console[-3000:]
    assert jobs_run(result)["embedded_member"] == 3
    assert "results/micro/models/eve.1" in console and "results/micro/models/ada" not in console


def test_iterations_0_is_said_when_the_workflow_starts(tmp_path):
    result = snakemake("--dry-run", "--config", "iterations=0", "--configfile", MICRO, cwd=tmp_path)
    console = result.stdout + result.stderr
    assert result.returncode == 0, console[-3000:]
    assert "iterations: 0: this run builds and evaluates the initial population only (no duels, no training)" in (
        console
    )
    assert "train" not in jobs_run(result) and "generate_shard" not in jobs_run(result)


def test_neither_a_bad_config_nor_a_bad_input_deletes_a_finished_output(tmp_path):
    data = tmp_path / "results" / "micro" / "data"
    done = snakemake("results/micro/data/train.parquet", "--configfile", str(MICRO), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    finished = {path: path.stat().st_mtime_ns for path in data.iterdir()}
    assert len(finished) == 3

    # a key given twice: Snakemake's loader would keep the last; the workflow refuses the file, naming the line
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text(MICRO.read_text() + "iterations: 5\n")
    result = snakemake("--configfile", str(repeated), cwd=tmp_path)
    assert result.returncode != 0
    assert "key 'iterations' repeats line 4 in the same mapping" in result.stdout + result.stderr

    # a corrupt input: the job that reads it fails, naming the file; the files it did not write stay as they were
    (data / "preference.parquet").write_bytes(b"not parquet")
    finished[data / "preference.parquet"] = (data / "preference.parquet").stat().st_mtime_ns
    result = snakemake("results/micro/iter_0/prompts.parquet", "--configfile", str(MICRO), cwd=tmp_path)
    assert result.returncode != 0
    log = (tmp_path / "results" / "micro" / "logs" / "iteration_prompts" / "iter_0.log").read_text()
    assert "preference.parquet: not a readable parquet file" in log
    assert not (tmp_path / "results" / "micro" / "iter_0" / "prompts.parquet").exists()
    assert {path: path.stat().st_mtime_ns for path in data.iterdir()} == finished
