"""Who speaks at each turn of a debate, with which prompt, and the speeches generated for it.

At each turn the workflow asks ``speech_requests`` who speaks and with which prompt, generates two alternative
speeches (alt 0 and alt 1) from the same transcript prefix, and the debate continues with alt 0 only
(``speeches_frame``).
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import MATCHES, TRANSCRIPT, read_table, read_tables, write_table
from agon.debate.config import DebateConfig, turns
from agon.debate.transcript import TRANSCRIPT_COLUMNS, background_lines, checked_transcript, speech_lines

logger = logging.getLogger(__name__)

REQUEST_COLUMNS = ["match_id", "turn", "round", "side", "speaker", "prompt"]


def round_of(cfg: DebateConfig, turn: int) -> int:
    """The round a turn belongs to."""
    _check_turn(cfg, turn)
    return turn // 2 if cfg.format == "sequential" else turn


def speech_requests(
    matches: pd.DataFrame, transcript: pd.DataFrame, cfg: DebateConfig, turn: int, model: str
) -> pd.DataFrame:
    """The speeches ``model`` gives at ``turn``: ``REQUEST_COLUMNS``, one row per (debate, side), in match order.

    A speech hears the alt-0 speeches of the earlier turns only: in the sequential format B hears A's speech of
    the same round, in the simultaneous format a round's two speeches are one turn and never hear each other.
    ``transcript`` holds the speeches of the earlier turns (empty at turn 0); a missing one is an error, since the
    prompt would silently lack it.
    """
    speaking = turns(cfg)[_check_turn(cfg, turn)]
    transcript = checked_transcript(matches, transcript)
    heard = transcript[(transcript["alt"] == 0) & (transcript["turn"] < turn)]
    by_match = {match_id: group for match_id, group in heard.groupby("match_id", sort=False)}
    expected = {(t, side) for t in range(turn) for side in turns(cfg)[t]}
    rows = []
    for match in matches.itertuples(index=False):
        for side in speaking:
            if getattr(match, f"model_{side}") != model:
                continue
            speeches = by_match.get(match.match_id, heard.iloc[:0])
            lacking = sorted(expected - set(zip(speeches["turn"], speeches["side"], strict=True)))
            if lacking:
                raise ValueError(f"debate: {match.match_id} lacks the alt-0 speech(es) (turn, side) {lacking}")
            prompt = _speech_prompt(match, side, speech_lines(match, speeches))
            rows.append((match.match_id, turn, round_of(cfg, turn), side, model, prompt))
    return pd.DataFrame(rows, columns=REQUEST_COLUMNS).astype({"turn": np.int64, "round": np.int64})


def speeches_frame(requests: pd.DataFrame, texts: list[list[str]]) -> pd.DataFrame:
    """Transcript rows (``TRANSCRIPT_COLUMNS``) of the requests and the generator's two texts for each.

    ``texts[i]`` are request i's alternatives: alt 0 continues the debate, alt 1 is only judged as a branch.
    """
    if len(texts) != len(requests):
        raise ValueError(f"debate: {len(texts)} lists of texts for {len(requests)} speech requests")
    if any(len(pair) != 2 for pair in texts):
        raise ValueError("debate: each speech request needs exactly two texts (alt 0 and alt 1)")
    rows = [
        (*request, alt, text)
        for request, pair in zip(requests[REQUEST_COLUMNS].itertuples(index=False), texts, strict=True)
        for alt, text in enumerate(pair)
    ]
    columns = [*REQUEST_COLUMNS[:5], "prompt", "alt", "text"]
    frame = pd.DataFrame(rows, columns=columns)[TRANSCRIPT_COLUMNS]
    return frame.astype({"turn": np.int64, "round": np.int64, "alt": np.int64})


def _check_turn(cfg: DebateConfig, turn: int) -> int:
    n = len(turns(cfg))
    if isinstance(turn, bool) or not isinstance(turn, int | np.integer) or not 0 <= turn < n:
        raise ValueError(f"debate: turn must be an integer in [0, {n}) for {cfg.rounds} {cfg.format} round(s)")
    return int(turn)


def _speech_prompt(match, side: str, lines: list[str]) -> str:
    other = "b" if side == "a" else "a"
    own, against = getattr(match, f"answer_{side}"), getattr(match, f"answer_{other}")
    return "\n".join(
        [
            *background_lines(match),
            f"Question: {match.prompt}",
            f"You are debater {side.upper()}. You argue that the answer is {own}; "
            f"debater {other.upper()} argues {against}.",
            *lines,
            "Your argument:",
        ]
    )


def write_speeches(
    matches_path: str | Path,
    earlier_paths: list[str | Path],
    out_path: str | Path,
    *,
    spec_dict: dict,
    generation: dict,
    debate: dict,
    turn: int,
    model: str,
    device: str,
    seed: int,
    threads: int = 1,
) -> None:
    """``model``'s speeches at ``turn``: two alternatives each, sampled from the same transcript so far.

    The model loads only when it has something to say: a debater sits out the turns of debates it is not in.
    """
    cfg = DebateConfig.from_dict(debate)
    earlier = read_tables(earlier_paths, TRANSCRIPT)
    requests = speech_requests(read_table(matches_path, MATCHES), earlier, cfg, turn, model)
    logger.info("%s gives %d speeches at turn %d", model, len(requests), turn)
    if requests.empty:
        write_table(pd.DataFrame(columns=TRANSCRIPT.columns), out_path, TRANSCRIPT)
        return
    import torch

    from agon.generation import SamplingConfig, make_generator
    from agon.models import ModelSpec

    torch.set_num_threads(threads)
    sampling = SamplingConfig.from_dict({**generation, "samples_per_prompt": 2})
    generator = make_generator(generation["backend"], ModelSpec.from_dict(spec_dict), device, generation.get("vllm"))
    completions = generator.generate(requests["prompt"].tolist(), sampling, seed)
    write_table(speeches_frame(requests, [[c.text for c in alts] for alts in completions]), out_path, TRANSCRIPT)
