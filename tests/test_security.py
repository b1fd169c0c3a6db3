"""Security guarantees (issue 9, docs/bad_input.md): no model code runs unless the config allows it, weights load
from safetensors only, secrets come from the environment alone, and no name can lead a path out of results/."""

import ast
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agon.config import ConfigError, _StrictLoader, load_schema, schema_rows, validate_config
from agon.contracts import PAIRS, write_table
from agon.generation.vllm_backend import EngineConfig, VLLMGenerator
from agon.judging.api import ApiConfig
from agon.judging.reward_model import ClassifierConfig, build_reward_model_judge
from agon.models import ModelFileError, ModelSpec, load_for_inference
from agon.names import NAME
from agon.training import TrainConfig, train_adapter

from .testing_utils import REPO, TINY_TRAINING, pairs_frame

SCHEMA = load_schema(REPO / "config" / "schema.yaml")
TINY = TrainConfig(**TINY_TRAINING)
SOURCES = sorted((REPO / "src" / "agon").rglob("*.py"))
THREE = {"a": {"base": "embedded"}, "b": {"base": "embedded"}, "c": {"base": "embedded"}}


def calls(name: str) -> list[tuple[Path, ast.Call]]:
    """Every call of ``<something>.<name>(...)`` in the package's source."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                found.append((path, node))
    return found


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


def where(path: Path, call: ast.Call) -> str:
    return f"{path.relative_to(REPO)}:{call.lineno}"


# --- trust_remote_code ------------------------------------------------------------------------------------------


def test_every_trust_remote_code_key_of_the_schema_defaults_to_false():
    keys = {key: node.get("default", node.get("x-default")) for key, node in schema_rows(SCHEMA)}
    remote = {key: default for key, default in keys.items() if key.endswith("trust_remote_code")}
    assert remote == {"models.<name>.trust_remote_code": False, "judging.external.<name>.trust_remote_code": "false"}
    config = validate_config({}, SCHEMA)
    assert not any(member["trust_remote_code"] for member in config["models"].values())


def test_the_package_defaults_trust_remote_code_to_false():
    assert ModelSpec.from_dict({"name": "m", "base": "b"}).trust_remote_code is False
    assert ClassifierConfig.from_params("j", {"model": "m"}, ("prompt", "answer")).trust_remote_code is False


def test_every_load_passes_trust_remote_code_explicitly_and_never_a_literal_true():
    # Left out, transformers asks on stdin whether to run a repository's code: a job must never wait on that.
    loads = [(path, call) for path, call in calls("from_pretrained") if "Peft" not in ast.unparse(call.func)]
    # every load of the package: members, judges, training, vLLM, evaluation (a scan that found none checks nothing)
    assert len(loads) >= 8
    for path, call in loads:
        given_value = keywords(call).get("trust_remote_code")
        assert given_value is not None, f"{where(path, call)} leaves trust_remote_code to transformers"
        assert not (isinstance(given_value, ast.Constant) and given_value.value is True), where(path, call)


@pytest.fixture
def remote_code_model(tmp_path, tiny_member) -> tuple[Path, Path]:
    """The tiny member, but its config names a model class from the directory's own Python file, which leaves a
    marker file behind if it is ever imported: (model directory, marker)."""
    base = tmp_path / "remote"
    shutil.copytree(tiny_member, base)
    marker = tmp_path / "remote-code-ran"
    config = json.loads((base / "config.json").read_text())
    config |= {
        "model_type": "agon_custom",  # a type transformers does not know, so only the repository's code could load it
        "auto_map": {"AutoConfig": "custom.CustomConfig", "AutoModelForCausalLM": "custom.CustomModel"},
    }
    (base / "config.json").write_text(json.dumps(config))
    (base / "custom.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    return base, marker


@pytest.mark.parametrize(
    "load",
    [
        lambda base: load_for_inference(ModelSpec(name="m", base=str(base)), torch.device("cpu")),
        lambda base: build_reward_model_judge("j", {"method": "reward_model", "model": str(base)}, device="cpu"),
    ],
    ids=["member", "reward_model_judge"],
)
def test_a_model_with_its_own_code_is_refused_without_the_config_flag(remote_code_model, load):
    base, marker = remote_code_model
    with pytest.raises(ValueError, match=r"(?s)remote contains custom code .*trust_remote_code=True"):
        load(base)
    assert not marker.exists()


# --- weights from safetensors only ------------------------------------------------------------------------------


class Planted:
    """Unpickled, it creates ``marker``: what a malicious checkpoint does, harmlessly."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_every_model_class_load_asks_for_safetensors():
    loads = [(path, call) for path, call in calls("from_pretrained") if "AutoModel" in ast.unparse(call.func)]
    assert len(loads) >= 3
    for path, call in loads:
        flag = keywords(call).get("use_safetensors")
        assert isinstance(flag, ast.Constant) and flag.value is True, f"{where(path, call)} may load pickled weights"


def test_the_package_never_unpickles_nor_loads_yaml_unsafely():
    assert len(SOURCES) > 40
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & {"pickle", "dill", "joblib", "marshal", "shelve"}, path
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                assert name not in {"torch.load", "pd.read_pickle", "eval", "exec"}, f"{path}:{node.lineno} {name}"
                if name == "yaml.load":
                    assert ast.unparse(keywords(node)["Loader"]) == "_StrictLoader", f"{path}:{node.lineno}"
    assert issubclass(_StrictLoader, yaml.SafeLoader)


@pytest.fixture
def pickled_model(tmp_path, tiny_member) -> tuple[Path, Path]:
    """The tiny member with its weights as a planted pytorch_model.bin instead of model.safetensors."""
    base = tmp_path / "pickled"
    shutil.copytree(tiny_member, base)
    (base / "model.safetensors").unlink()
    marker = tmp_path / "unpickled"
    (base / "pytorch_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    return base, marker


@pytest.mark.parametrize(
    "load",
    [
        lambda base, tmp: load_for_inference(ModelSpec(name="m", base=str(base)), torch.device("cpu")),
        lambda base, tmp: train_adapter(
            tmp / "pairs.parquet", tmp / "out", ModelSpec(name="m", base=str(base)), TINY, device="cpu", seed=0
        ),
        lambda base, tmp: build_reward_model_judge("j", {"method": "reward_model", "model": str(base)}, device="cpu"),
    ],
    ids=["member", "training", "reward_model_judge"],
)
def test_a_model_with_pickled_weights_only_is_refused_unread(tmp_path, pickled_model, load):
    base, marker = pickled_model
    write_table(pairs_frame(2), tmp_path / "pairs.parquet", PAIRS)
    with pytest.raises(ModelFileError, match=r"pickled holds pickled weights only \(pytorch_model.bin\)"):
        load(base, tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "load",
    [
        lambda spec, tmp: load_for_inference(spec, torch.device("cpu")),
        lambda spec, tmp: train_adapter(tmp / "pairs.parquet", tmp / "out", spec, TINY, device="cpu", seed=0),
        # checked before the engine starts, so this holds without vLLM installed too
        lambda spec, tmp: VLLMGenerator([spec], EngineConfig(), "cpu"),
    ],
    ids=["member", "training", "vllm"],
)
def test_an_adapter_with_pickled_weights_only_is_refused_unread(tmp_path, tiny_member, load):
    # peft and vLLM both fall back to adapter_model.bin when adapter_model.safetensors is missing
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4}')
    marker = tmp_path / "unpickled"
    (adapter / "adapter_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    write_table(pairs_frame(2), tmp_path / "pairs.parquet", PAIRS)
    spec = ModelSpec(name="m", base=str(tiny_member), adapter=str(adapter))
    with pytest.raises(ModelFileError, match=r"adapter holds pickled weights only \(adapter_model.bin\)"):
        load(spec, tmp_path)
    assert not marker.exists()


# --- secrets --------------------------------------------------------------------------------------------------


def test_no_config_key_takes_a_secret():
    # the only key-like keys: the NAME of the variable holding an API key, and lengths counted in tokens
    allowed = {"api_key_env", "max_tokens", "max_new_tokens"}
    secretive = {
        key.rsplit(".", 1)[-1]
        for key, _ in schema_rows(SCHEMA)
        if any(word in key.rsplit(".", 1)[-1] for word in ("key", "token", "secret", "password", "credential", "auth"))
    }
    assert secretive == allowed
    (description,) = [n["description"] for k, n in schema_rows(SCHEMA) if k.endswith("api_key_env")]
    assert "the NAME of the environment variable" in description


def test_a_literal_api_key_in_the_config_is_refused():
    external = {"gpt": {"method": "api", "base_url": "http://h/v1", "model": "m", "api_key": "sk-literal"}}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'api_key' at 'judging.external.gpt'"):
        validate_config({"judging": {"external": external}}, SCHEMA)


@pytest.mark.parametrize("url", ["https://user:sk-hidden@api.example/v1", "https://api.example/v1?key=sk-hidden"])
def test_a_credential_in_an_endpoint_url_is_refused_without_being_repeated(url):
    external = {"gpt": {"method": "api", "base_url": url, "model": "m"}}
    with pytest.raises(ConfigError) as config_error:
        validate_config({"judging": {"external": external}}, SCHEMA)
    with pytest.raises(ValueError) as judge_error:
        ApiConfig.from_params("gpt", {"method": "api", "base_url": url, "model": "m"})
    for error in (config_error, judge_error):
        message = str(error.value)
        assert "base_url" in message and "holds a " in message and "api_key_env" in message
        assert "sk-hidden" not in message


# --- names and paths ------------------------------------------------------------------------------------------


def named(field: str, name: str) -> tuple[dict, str]:
    """A config that uses ``name`` in ``field``, and the config key its error names."""
    match field:
        case "run":
            return {"run": name}, "run"
        case "model":
            return {"models": {**THREE, name: {"base": "embedded"}}}, "models"
        case "judge":
            return {"judging": {"judges": ["verifier", name], "signal": "verifier"}}, "judging.judges"
        case "external":
            return {"judging": {"external": {name: {"method": "api", "base_url": "http://h/v1", "model": "m"}}}}, (
                "judging.external"
            )
    raise AssertionError(field)


@pytest.mark.parametrize(
    "name",
    ["a/b", "a\\b", "..", "../up", ".hidden", "/abs", "ada\n", ""],
    ids=["slash", "backslash", "dotdot", "dotdot_slash", "leading_dot", "absolute", "trailing_newline", "empty"],
)
@pytest.mark.parametrize("field", ["run", "model", "judge", "external"])
def test_a_name_that_is_not_one_plain_path_component_is_refused(field, name):
    config, key = named(field, name)
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert f"config key '{key}" in str(error.value) and repr(name) in str(error.value)


def test_every_name_that_becomes_a_path_has_the_patterns_the_package_checks():
    properties = SCHEMA["properties"]
    judging = properties["judging"]["properties"]
    for node in (
        properties["run"],
        properties["models"]["propertyNames"],
        judging["judges"]["items"],
        judging["external"]["propertyNames"],
    ):
        assert node["pattern"] == f"^{NAME.pattern}$"


@given(st.from_regex(NAME, fullmatch=True))
def test_a_valid_name_stays_inside_the_results_folder(name):
    results = Path("/results")
    assert (results / name).resolve().parent == results
    assert not name.startswith(".")
    assert ".." not in name and not name.endswith(".")  # Windows drops a final dot
