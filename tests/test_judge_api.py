"""The api judge against real local endpoints: `transformers serve` with a tiny chat model, and two tiny socket
servers, one that answers in the OpenAI format (and echoes the key in its errors), one that never answers."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import openai
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agon.contracts import JUDGMENTS, PROMPTS, read_table, write_table
from agon.judging.api import ApiConfig, ChoiceError, Reply, build_api_judge, parse_choice, request_key, verdict
from agon.judging.protocol import choice_prompt

from .testing_utils import Silent, duels, serving

KEY = "sk-agon-test-SECRET"
KEY_ENV = "AGON_TEST_API_KEY"
# The tiny arithmetic model answers the choice prompt with nothing at all; this one draws digits from it.
TEMPLATE = "{prompt}\nA: {first}\nB: {second}"


def params(base_url: str, **extra: object) -> dict:
    return {"method": "api", "base_url": base_url, "model": "m", **extra}


# --- parsing a reply ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "choice"),
    [("A", "A"), ("B.", "B"), ("Answer: B", "B"), (" (A) ", "A"), ("**B**", "B"), ("B is better.", "B")],
)
def test_one_standalone_letter_is_the_choice(reply, choice):
    assert parse_choice(reply) == choice


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "no standalone choice letter"),
        ("a", "no standalone choice letter"),  # lowercase: the article, not a choice
        ("Answer", "no standalone choice letter"),  # the A of a word
        ("AB", "no standalone choice letter"),
        ("C", "no standalone choice letter"),
        ("A or B", r"2 standalone choice letters \(A, B\)"),
        ("B. B!", r"2 standalone choice letters \(B, B\)"),
    ],
)
def test_anything_else_is_refused_not_guessed(reply, why):
    with pytest.raises(ChoiceError, match=why):
        parse_choice(reply)


@given(
    st.text(alphabet=st.characters(exclude_characters="AB")),
    st.sampled_from("AB"),
    st.text(alphabet=st.characters(exclude_characters="AB")),
)
def test_a_letter_set_apart_is_found_in_any_text(before, letter, after):
    assert parse_choice(f"{before} {letter} {after}") == letter


def test_a_choice_maps_back_to_the_matchs_answers():
    # "A" in order ba is the match's b: score_b = 1, score_a = 0, preference = 0 - 1
    assert verdict("m", "ab", Reply("A")).score_a == 1.0
    shown_swapped = verdict("m", "ba", Reply("A"))
    assert (shown_swapped.score_a, shown_swapped.score_b, shown_swapped.preference) == (0.0, 1.0, -1.0)
    refused = verdict("m", "ab", Reply("A or B"))
    assert (refused.score_a, refused.raw) == (None, "A or B")
    assert refused.error == "reply holds 2 standalone choice letters (A, B), not one"
    failed = verdict("m", "ba", Reply(error="APITimeoutError: Request timed out."))
    assert (failed.preference, failed.raw, failed.error) == (None, "", "APITimeoutError: Request timed out.")


# --- config ---------------------------------------------------------------------------------------------------


def test_params_get_documented_defaults_and_the_method_key_is_ignored():
    cfg = ApiConfig.from_params("j", {"method": "api", "base_url": "http://h/v1", "model": "m", "timeout_s": 5})
    assert cfg == ApiConfig("http://h/v1", "m", None, 4, 5.0, 3, 0.0, 8, None)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"temprature": 0.5}, r"judge j \(api\): unknown key\(s\) \['temprature'\]"),
        ({"base_url": None}, r"judge j \(api\): base_url must be an http\(s\) URL, got None"),
        ({"base_url": "localhost:8000"}, r"base_url must be an http\(s\) URL"),
        ({"concurrency": 0}, r"judge j \(api\): concurrency must be an integer >= 1, got 0"),
        ({"concurrency": True}, r"concurrency must be an integer >= 1, got True"),
        ({"max_retries": -1}, r"max_retries must be an integer >= 0"),
        ({"timeout_s": "60"}, r"timeout_s must be a number > 0, got '60'"),
        ({"temperature": -0.1}, r"temperature must be a number >= 0"),
        ({"max_tokens": 1.5}, r"max_tokens must be an integer >= 1"),
        ({"api_key_env": ""}, r"api_key_env must be a variable name or null"),
        ({"template": "{prompt} {first}"}, r"template must be null or a format string with exactly the fields"),
        ({"template": "{prompt} {first} {second} {third}"}, r"template must be null or a format string"),
        ({"template": "{prompt {first} {second}"}, r"template must be null or a format string"),
    ],
)
def test_bad_params_are_errors_naming_the_judge_and_key(extra, error):
    with pytest.raises(ValueError, match=error):
        build_api_judge("j", {**params("http://h/v1"), **extra}, cache_dir=None)


def test_missing_params_are_named():
    with pytest.raises(ValueError, match=r"judge j \(api\): missing required key\(s\) \['base_url', 'model'\]"):
        build_api_judge("j", {"method": "api"}, cache_dir=None)


def test_the_default_prompt_is_the_logprob_judges_and_a_template_shows_the_same_order():
    judge = build_api_judge("j", params("http://h/v1"), cache_dir=None)
    assert judge.prompt("q", "x", "y", "ba") == choice_prompt("q", "x", "y", "ba")
    templated = build_api_judge("j", params("http://h/v1", template="{prompt}|{first}|{second}"), cache_dir=None)
    assert templated.prompt("q", "x", "y", "ba") == "q|y|x"


def test_the_cache_key_covers_the_request_and_not_the_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    judge = build_api_judge("j", params("http://h/v1", api_key_env=KEY_ENV), cache_dir=None)
    request = judge.request("q")
    assert KEY not in json.dumps(request)
    assert request_key(request) == request_key(dict(reversed(request.items())))  # canonical: key order is moot
    assert request_key(request) != request_key({**request, "temperature": 0.5})


# --- local endpoints ------------------------------------------------------------------------------------------


class Echo(BaseHTTPRequestHandler):
    """Replies "Answer: B." in the OpenAI format, unless the prompt says "fail": then a 400 that echoes the key."""

    def do_POST(self) -> None:
        self.server.connections += 1
        authorization = self.headers.get("Authorization", "")
        self.server.authorizations.append(authorization)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "fail" in body["messages"][0]["content"]:
            status, reply = 400, {"error": {"message": f"rejected; you sent {authorization}", "type": "invalid"}}
        else:
            message = {"role": "assistant", "content": "Answer: B."}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"], "choices": [choice]}
            status = 200
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet: the test's output is the judge's."""


def test_a_failed_request_is_an_invalid_verdict_with_the_key_blotted_out(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv(KEY_ENV, KEY)
    caplog.set_level(logging.DEBUG)
    with serving(Echo) as server:
        judge = build_api_judge("j", params(server.base_url, api_key_env=KEY_ENV, max_retries=0), cache_dir=tmp_path)
        judgments = judge.judge(duels([("good?", "1", "2"), ("fail?", "1", "2")]))
    assert server.authorizations == [f"Bearer {KEY}"] * 4
    good, failed = judgments.iloc[:2], judgments.iloc[2:]
    # "B" shown second is the match's b in order ab, its a in order ba: a position-biased judge cancels out
    assert good[["order", "score_a", "score_b", "preference"]].values.tolist() == [["ab", 0, 1, -1], ["ba", 1, 0, 1]]
    assert good["raw"].eq("Answer: B.").all() and good["valid"].all()
    assert not failed["valid"].any() and failed["score_a"].isna().all()
    assert failed["error"].str.startswith("BadRequestError: Error code: 400").all()
    assert failed["error"].str.endswith("you sent Bearer ***").all()
    assert KEY not in judgments.to_json() and KEY not in caplog.text
    assert len(list(tmp_path.rglob("*.json"))) == 2  # only the answered requests are cached


def test_without_a_key_variable_the_client_sends_a_placeholder():
    with serving(Echo) as server:
        build_api_judge("j", params(server.base_url), cache_dir=None).judge(duels([("q", "1", "2")]))
    assert server.authorizations == ["Bearer EMPTY"] * 2


def test_no_duels_need_no_request():
    with serving(Silent) as server:
        judgments = build_api_judge("j", params(server.base_url), cache_dir=None).judge(duels([]))
    assert judgments.empty and list(judgments.columns) == JUDGMENTS.columns
    assert server.connections == 0


def test_a_missing_key_variable_fails_before_any_request(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with serving(Silent) as server:
        with pytest.raises(ValueError, match=f"environment variable {KEY_ENV} .* not set or empty"):
            build_api_judge("j", params(server.base_url, api_key_env=KEY_ENV), cache_dir=None)
        monkeypatch.setenv(KEY_ENV, "")
        with pytest.raises(ValueError, match=f"environment variable {KEY_ENV} .* not set or empty"):
            build_api_judge("j", params(server.base_url, api_key_env=KEY_ENV), cache_dir=None)
    assert server.connections == 0


def test_an_endpoint_that_never_answers_times_out_into_one_clear_error(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv(KEY_ENV, KEY)
    caplog.set_level(logging.DEBUG)
    settings = {"api_key_env": KEY_ENV, "timeout_s": 0.5, "max_retries": 0}
    started = time.monotonic()
    with serving(Silent) as server, pytest.raises(RuntimeError) as failure:
        build_api_judge("j", params(server.base_url, **settings), cache_dir=tmp_path).judge(duels([("q", "1", "2")]))
    assert time.monotonic() - started < 10
    assert f"all 2 requests to {server.base_url} (model m) failed; the first: APITimeoutError" in str(failure.value)
    assert server.connections == 2
    assert KEY not in str(failure.value) and KEY not in caplog.text
    assert not list(tmp_path.rglob("*.json"))


# --- a real OpenAI-compatible server --------------------------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen
    base_url: str
    model: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_member, tmp_path_factory) -> Iterator[Served]:
    """`transformers serve` pinned to the tiny member, on CPU, up once its /health answers."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [str(Path(sys.executable).with_name("transformers")), "serve", str(tiny_member)]
    command += ["--port", str(port), "--host", "127.0.0.1", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        server = Served(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env), "", str(tiny_member))
    server.base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    try:
        while True:
            if server.process.poll() is not None:
                pytest.fail(f"transformers serve exited with {server.process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not answer /health within 120 s:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield server
    finally:
        server.stop()


def test_a_real_server_judges_every_duel_twice_and_a_rerun_pays_nothing(
    served, micro_splits, monkeypatch, tmp_path, caplog
):
    monkeypatch.setenv(KEY_ENV, KEY)
    caplog.set_level(logging.DEBUG)
    heldout = read_table(micro_splits["heldout"], PROMPTS).head(3)
    rows = [(p, r, str(int(r) + 1)) for p, r in zip(heldout.prompt, heldout.reference, strict=True)]
    shown = duels([*rows, rows[0]])  # d3 repeats d0: asked once
    settings = {"api_key_env": KEY_ENV, "template": TEMPLATE, "concurrency": 2, "timeout_s": 30.0}
    cache = tmp_path / "cache"
    judge = build_api_judge("j", {**params(served.base_url, **settings), "model": served.model}, cache_dir=cache)
    judgments = judge.judge(shown)

    write_table(judgments, tmp_path / "judgments.parquet", JUDGMENTS)
    table = read_table(tmp_path / "judgments.parquet", JUDGMENTS)
    assert table.groupby("match_id")["order"].apply(sorted).to_dict() == {f"d{i}": ["ab", "ba"] for i in range(4)}
    assert (table["method"] == "api").all() and (table["judge"] == "j").all()
    # a valid verdict has scores and no error; an invalid one says why and has none
    assert (table["valid"] == (table["error"] == "")).all()
    assert table.loc[table["valid"], "preference"].isin([-1.0, 1.0]).all()
    assert table.loc[~table["valid"], ["score_a", "score_b", "preference"]].isna().all().all()

    # raw is what the server itself says to the same request
    direct = openai.OpenAI(base_url=served.base_url, api_key="EMPTY")
    for row in table.itertuples():
        duel = shown.set_index("match_id").loc[row.match_id]
        first, second = (duel.answer_a, duel.answer_b) if row.order == "ab" else (duel.answer_b, duel.answer_a)
        content = TEMPLATE.format(prompt=duel.prompt, first=first, second=second)
        response = direct.chat.completions.create(
            model=served.model, messages=[{"role": "user", "content": content}], temperature=0.0, max_tokens=8
        )
        assert row.raw == response.choices[0].message.content
    assert (table["raw"] != "").any()
    assert "6 distinct requests" in caplog.text and "6 answered, 0 failed" in caplog.text
    cached = list(cache.rglob("*.json"))
    assert len(cached) == 6

    served.stop()
    again = build_api_judge("j", {**params(served.base_url, **settings), "model": served.model}, cache_dir=cache)
    pd.testing.assert_frame_equal(again.judge(shown), judgments)
    assert "6 cached, 0 to send" in caplog.text

    assert KEY not in caplog.text
    assert KEY.encode() not in (tmp_path / "judgments.parquet").read_bytes()
    assert not [path for path in cached if KEY in path.read_text()]
