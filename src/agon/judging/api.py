"""The api judge: any OpenAI-compatible chat-completions endpoint (a vLLM server, a hosted service) judges duels.

Each duel is asked in both orders, and the verdict is the one standalone letter A or B in the reply; a reply
without exactly one is an invalid verdict, never a guess. Replies are cached on disk by request hash, so a re-run
(or a crashed job run again) does not pay for the same request twice. The API key never leaves the client: it is
in no log, no raw output, no error and no cache file.
"""

import asyncio
import hashlib
import json
import logging
import os
import re
import string
from dataclasses import dataclass, fields
from pathlib import Path

import openai
import pandas as pd
from tqdm import tqdm

from agon.config_checks import credentials_in_url
from agon.files import read_json, write_json
from agon.judging.protocol import ORDERS, Verdict, choice_prompt, in_order, judgments_frame

logger = logging.getLogger(__name__)

# Uppercase only, and not inside a word: "A", "B.", "(B)", "Answer: B" are choices; the "A" of "Answer" is not.
CHOICE_LETTER = re.compile(r"(?<!\w)[AB](?!\w)")
TEMPLATE_FIELDS = {"prompt", "first", "second"}
TEMPLATE_EXPECTED = "null or a format string with exactly the fields {prompt}, {first} and {second}"
# Servers without authentication still make the client send some key; the official client refuses none at all.
NO_KEY = "EMPTY"


class ChoiceError(ValueError):
    """A reply that does not name exactly one answer."""


def parse_choice(reply: str) -> str:
    """The one standalone choice letter, "A" or "B", in ``reply``; anything else is a ChoiceError."""
    letters = CHOICE_LETTER.findall(reply)
    if not letters:
        raise ChoiceError("reply holds no standalone choice letter A or B")
    if len(letters) > 1:
        raise ChoiceError(f"reply holds {len(letters)} standalone choice letters ({', '.join(letters)}), not one")
    return letters[0]


@dataclass(frozen=True)
class ApiConfig:
    """One api judge's endpoint and request settings: the judge's params, less its method and key."""

    base_url: str  # e.g. "http://localhost:8000/v1" for a vLLM server
    model: str  # the model name the endpoint serves
    api_key_env: str | None = None  # the NAME of the variable holding the key: keys stay out of config files
    concurrency: int = 4  # requests in flight at once: enough to keep a server busy, few enough to avoid 429s
    timeout_s: float = 60.0  # per attempt; a loaded server can queue a request for a while
    max_retries: int = 3  # the client's own retries, with exponential backoff, on connection errors, 429s and 5xx
    temperature: float = 0.0  # greedy: the same duel gets the same verdict, and the cache stays truthful
    max_tokens: int = 8  # "A" is one token; a little room for "Answer: B."
    template: str | None = None  # with {prompt}, {first}, {second}; None = protocol.CHOICE_TEMPLATE

    @classmethod
    def from_params(cls, name: str, params: dict) -> "ApiConfig":
        """The config of judge ``name`` from its params, every key checked; ``method`` is the caller's."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known - {"method"})
        if unknown:
            raise ValueError(f"judge {name} (api): unknown key(s) {unknown}; expected some of {sorted(known)}")
        missing = [key for key in ("base_url", "model") if key not in params]
        if missing:
            raise ValueError(f"judge {name} (api): missing required key(s) {missing}")
        values = {key: params[key] for key in known if key in params}

        def check(key: str, ok: bool, expected: str) -> None:
            if not ok:
                raise ValueError(f"judge {name} (api): {key} must be {expected}, got {values[key]!r}")

        for key in values:
            value = values[key]
            match key:
                case "base_url":
                    check(key, isinstance(value, str) and value.startswith(("http://", "https://")), "an http(s) URL")
                    if secret := credentials_in_url(value):
                        # Not echoed: the URL goes to logs and caches, so it must not hold the key it is refused for.
                        raise ValueError(
                            f"judge {name} (api): base_url holds {secret}; put the key in an environment variable "
                            "and name it in api_key_env"
                        )
                case "model":
                    check(key, isinstance(value, str) and value != "", "a non-empty string")
                case "api_key_env":
                    check(key, value is None or (isinstance(value, str) and value != ""), "a variable name or null")
                case "concurrency" | "max_tokens":
                    check(key, _is_int(value) and value >= 1, "an integer >= 1")
                case "max_retries":
                    check(key, _is_int(value) and value >= 0, "an integer >= 0")
                case "timeout_s":
                    check(key, _is_number(value) and value > 0, "a number > 0")
                    values[key] = float(value)
                case "temperature":
                    check(key, _is_number(value) and value >= 0, "a number >= 0")
                    values[key] = float(value)
                case "template":
                    check(key, value is None or _template_fields(value) == TEMPLATE_FIELDS, TEMPLATE_EXPECTED)
        return cls(**values)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _template_fields(template: object) -> set[str] | None:
    """The replacement fields of a format string; None if it is not one."""
    if not isinstance(template, str):
        return None
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError:
        return None


@dataclass(frozen=True)
class Reply:
    """The endpoint's answer to one request: its text, or why there is none."""

    text: str = ""
    error: str = ""


def build_api_judge(name: str, params: dict, *, cache_dir: str | Path | None) -> "ApiJudge":
    """The api judge ``name`` from its config params; a missing key fails here, before any request."""
    cfg = ApiConfig.from_params(name, params)
    api_key = NO_KEY
    if cfg.api_key_env is not None:
        api_key = os.environ.get(cfg.api_key_env, "")
        if not api_key:
            raise ValueError(
                f"judge {name} (api): environment variable {cfg.api_key_env} (api_key_env) is not set or empty; "
                f"it must hold the API key for {cfg.base_url}"
            )
    return ApiJudge(name, cfg, api_key, None if cache_dir is None else Path(cache_dir))


class ApiJudge:
    """score_a, score_b = 1.0 for the answer the endpoint chose, 0.0 for the other, mapped back to the match's A/B."""

    method = "api"

    def __init__(self, name: str, cfg: ApiConfig, api_key: str, cache_dir: Path | None) -> None:
        self.name = name
        self.cfg = cfg
        self._api_key = api_key
        self.cache_dir = cache_dir

    def prompt(self, prompt: str, answer_a: str, answer_b: str, order: str) -> str:
        if self.cfg.template is None:
            return choice_prompt(prompt, answer_a, answer_b, order)
        first, second = in_order(order, answer_a, answer_b)
        return self.cfg.template.format(prompt=prompt, first=first, second=second)

    def request(self, prompt: str) -> dict:
        """Everything that decides the reply, and nothing secret: the cache key is its hash."""
        return {
            "base_url": self.cfg.base_url,
            "model": self.cfg.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
        }

    def judge(self, duels: pd.DataFrame) -> pd.DataFrame:
        shown = [(row, order) for row in duels.itertuples(index=False) for order in ORDERS]
        requests = [self.request(self.prompt(row.prompt, row.answer_a, row.answer_b, order)) for row, order in shown]
        keys = [request_key(r) for r in requests]
        # Identical duels (the same prompt and answers) are asked once.
        unique = dict(zip(keys, requests, strict=True))
        replies = {key: cached for key in unique if (cached := self._cached(key)) is not None}
        to_ask = {key: request for key, request in unique.items() if key not in replies}
        logger.info(
            "api judge %s: %d duels, %d distinct requests to %s (model %s): %d cached, %d to send",
            self.name,
            len(duels),
            len(unique),
            self.cfg.base_url,
            self.cfg.model,
            len(replies),
            len(to_ask),
        )
        if to_ask:
            asked = asyncio.run(self._ask_all(to_ask))
            failed = [reply.error for reply in asked.values() if reply.error]
            logger.info("api judge %s: %d answered, %d failed", self.name, len(asked) - len(failed), len(failed))
            if len(failed) == len(asked):
                # A dead endpoint or a wrong key must stop the job, not be written as a table of invalid verdicts.
                raise RuntimeError(
                    f"judge {self.name} (api): all {len(asked)} requests to {self.cfg.base_url} "
                    f"(model {self.cfg.model}) failed; the first: {failed[0]}"
                )
            replies |= asked
        verdicts = [verdict(row.match_id, order, replies[key]) for (row, order), key in zip(shown, keys, strict=True)]
        return judgments_frame(verdicts, self.name, self.method)

    async def _ask_all(self, requests: dict[str, dict]) -> dict[str, Reply]:
        """Each request's reply, at most ``concurrency`` in flight; each success is cached as soon as it comes."""
        semaphore = asyncio.Semaphore(self.cfg.concurrency)
        client = openai.AsyncOpenAI(
            base_url=self.cfg.base_url,
            api_key=self._api_key,
            timeout=self.cfg.timeout_s,
            max_retries=self.cfg.max_retries,
        )
        with tqdm(total=len(requests), desc=f"api {self.name}", unit="request", mininterval=5) as progress:

            async def ask(key: str, request: dict) -> tuple[str, Reply]:
                async with semaphore:
                    reply = await self._ask(client, request)
                if reply.error:
                    logger.warning("api judge %s: request to %s failed: %s", self.name, self.cfg.base_url, reply.error)
                else:
                    self._store(key, request, reply.text)
                progress.update()
                return key, reply

            async with client:
                return dict(await asyncio.gather(*(ask(key, request) for key, request in requests.items())))

    async def _ask(self, client: openai.AsyncOpenAI, request: dict) -> Reply:
        try:
            response = await client.chat.completions.create(
                model=request["model"],
                messages=request["messages"],
                temperature=request["temperature"],
                max_tokens=request["max_tokens"],
            )
        except openai.APIError as error:
            # Some servers echo the key in their error body: it must not reach the judgments or the log.
            return Reply(error=self._redact(f"{type(error).__name__}: {error}"))
        if not response.choices:
            return Reply(error="the endpoint's response holds no choices")
        return Reply(text=response.choices[0].message.content or "")

    def _redact(self, text: str) -> str:
        return text if self.cfg.api_key_env is None else text.replace(self._api_key, "***")

    def _path(self, key: str) -> Path | None:
        # Two-letter folders keep directories small on cluster file systems, which list big ones slowly.
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.json"

    def _cached(self, key: str) -> Reply | None:
        path = self._path(key)
        return Reply(text=read_json(path)["reply"]) if path is not None and path.exists() else None

    def _store(self, key: str, request: dict, text: str) -> None:
        path = self._path(key)
        if path is not None:
            write_json({"request": request, "reply": text}, path)


def request_key(request: dict) -> str:
    """sha256 of the request's canonical JSON: the same request always finds its cached reply."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verdict(match_id: str, order: str, reply: Reply) -> Verdict:
    """The verdict a reply gives in ``order``, mapped back to the match's A/B; invalid if it names no one answer."""
    if reply.error:
        return Verdict.invalid(match_id, order, reply.text, reply.error)
    try:
        shown_first = parse_choice(reply.text) == "A"
    except ChoiceError as error:
        return Verdict.invalid(match_id, order, reply.text, str(error))
    score_a, score_b = in_order(order, float(shown_first), float(not shown_first))
    return Verdict(match_id, order, score_a, score_b, score_a - score_b, reply.text)
