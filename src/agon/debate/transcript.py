"""The transcripts of the debates and what a judge reads of them.

A judge reads a transcript through the ordinary duel table (``judge_inputs``): the full debate, and every branch,
i.e. the transcript up to one alternative speech. The helpers here lay out a speech as the debaters and the
judges read it, so a speech prompt and a judge's view show the same lines.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import DUELS, MATCHES, TRANSCRIPT, read_table, read_tables, write_table
from agon.debate.schedule import SIDES
from agon.judging.protocol import DUEL_COLUMNS

TRANSCRIPT_COLUMNS = TRANSCRIPT.columns


def judge_inputs(matches: pd.DataFrame, transcript: pd.DataFrame, judge_reads_background: bool = False) -> pd.DataFrame:
    """The duels a judge reads (``DUEL_COLUMNS``): each full debate, then each branch.

    A full debate (``match_id`` = the debate's) shows every alt-0 speech. A branch
    (``{debate}/t{turn}/{side}/alt{alt}``, one per transcript row) shows the alt-0 speeches of the earlier turns
    and then that one speech, so a speech's two alternatives are judged on the same context. ``answer_a`` and
    ``answer_b`` are the candidates, so a judge that compares two answers to a prompt works unchanged.

    The prompt never says which side is correct, and the sides are drawn at random, so a judge learns the truth
    only from the debate; ``reference`` is passed along for judges meant to know it (the verifier, an oracle).
    A background passage opens the view only when ``judge_reads_background``.
    """
    transcript = in_debate_order(matches, checked_transcript(matches, transcript))
    spoken = transcript[transcript["alt"] == 0]
    by_match = {match_id: group for match_id, group in spoken.groupby("match_id", sort=False)}
    empty = spoken.iloc[:0]
    debates = {match.match_id: match for match in matches.itertuples(index=False)}
    shown = judge_reads_background
    rows = [
        _duel(match, match_id, speech_lines(match, by_match.get(match_id, empty)), shown)
        for match_id, match in debates.items()
    ]
    for speech in transcript.itertuples(index=False):
        match = debates[speech.match_id]
        earlier = by_match.get(speech.match_id, empty)
        earlier = earlier[earlier["turn"] < speech.turn]
        lines = [*speech_lines(match, earlier), speech_line(match, speech.side, speech.text)]
        rows.append(_duel(match, branch_id(speech.match_id, speech.turn, speech.side, speech.alt), lines, shown))
    return pd.DataFrame(rows, columns=DUEL_COLUMNS)


def checked_transcript(matches: pd.DataFrame, transcript: pd.DataFrame) -> pd.DataFrame:
    """The transcript, checked against the debates: known debates, sides and speakers, two alts per speech."""
    if transcript.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TRANSCRIPT_COLUMNS}).astype(
            {"turn": np.int64, "round": np.int64, "alt": np.int64}
        )
    missing = [c for c in TRANSCRIPT_COLUMNS if c not in transcript.columns]
    if missing:
        raise ValueError(f"debate: transcript lacks column(s) {missing}")
    unknown = sorted(set(transcript["match_id"]) - set(matches["match_id"]))
    if unknown:
        raise ValueError(f"debate: transcript names {len(unknown)} unknown debate(s), e.g. {unknown[:3]}")
    if not transcript["side"].isin(SIDES).all() or not transcript["alt"].isin((0, 1)).all():
        raise ValueError(f"debate: transcript sides must be one of {SIDES} and alts 0 or 1")
    speakers = transcript.merge(matches[["match_id", "model_a", "model_b"]], on="match_id", how="left")
    expected = np.where(speakers["side"] == "a", speakers["model_a"], speakers["model_b"])
    if (speakers["speaker"].to_numpy() != expected).any():
        raise ValueError("debate: a transcript speaker is not the debater of its side")
    key = ["match_id", "turn", "side"]
    if transcript.duplicated([*key, "alt"]).any():
        raise ValueError("debate: transcript repeats a (match_id, turn, side, alt)")
    alts = transcript.groupby(key)["alt"].size()
    if (alts != 2).any():
        raise ValueError(f"debate: speeches {alts[alts != 2].index[:3].tolist()} lack one of alt 0 and alt 1")
    return transcript


def in_debate_order(matches: pd.DataFrame, transcript: pd.DataFrame) -> pd.DataFrame:
    """Transcript rows in match order, then turn, side, alt: the order speeches are read and rows written."""
    position = transcript["match_id"].map({m: i for i, m in enumerate(matches["match_id"])})
    order = np.lexsort((transcript["alt"], transcript["side"], transcript["turn"], position.to_numpy()))
    return transcript.iloc[order].reset_index(drop=True)


def speech_line(match, side: str, text: str) -> str:
    """A speech as every later speaker and the judges read it: the side, its answer, then the text."""
    # One line per speech: a speech's own line breaks are folded so it cannot pass itself off as the opponent.
    return f"{side.upper()} ({getattr(match, f'answer_{side}')}): {' '.join(str(text).split())}"


def speech_lines(match, speeches: pd.DataFrame) -> list[str]:
    """The lines of a debate's speeches in the order they were given."""
    ordered = speeches.sort_values(["turn", "side"])
    return [speech_line(match, side, text) for side, text in zip(ordered["side"], ordered["text"], strict=True)]


def background_lines(match) -> list[str]:
    """The passage the question is about, first, when the debate has one (older matches tables have none)."""
    text = str(getattr(match, "background", "") or "")
    return [f"Background: {text}"] if text else []


def _duel(match, duel_id: str, lines: list[str], with_background: bool) -> tuple:
    # The question comes last, so a judge that scores or gives an answer to the prompt answers the question.
    prompt = "\n".join(
        [
            *(background_lines(match) if with_background else []),
            f"Debate. A argues the answer is {match.answer_a}; B argues it is {match.answer_b}.",
            *lines,
            str(match.prompt),
        ]
    )
    return (duel_id, prompt, match.reference, match.model_a, match.model_b, match.answer_a, match.answer_b)


def speech_id(match_id: str, turn: int, side: str) -> str:
    """A speech's id, the match id of its training pair."""
    return f"{match_id}/t{turn}/{side}"


def branch_id(match_id: str, turn: int, side: str, alt: int) -> str:
    """A branch's id, the match id under which the judges read the transcript up to that alternative."""
    return f"{speech_id(match_id, turn, side)}/alt{alt}"


def write_transcript(
    matches_path: str | Path,
    turn_paths: list[str | Path],
    transcript_path: str | Path,
    duels_path: str | Path,
    judge_reads_background: bool = False,
) -> None:
    """The iteration's transcripts (one row per speech and alternative) and what the judges read of them."""
    transcript = read_tables(turn_paths, TRANSCRIPT)
    write_table(transcript, transcript_path, TRANSCRIPT)
    matches = read_table(matches_path, MATCHES)
    write_table(judge_inputs(matches, transcript, judge_reads_background), duels_path, DUELS)
