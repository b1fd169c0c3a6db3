"""The debate protocol: two debaters argue opposite answers to a question, a judge picks the side it believes.

Per question there are two candidates, the reference and a wrong one (another option of a multiple-choice
question, else a numeric ``distractor``); which one is A is random. Every
ordered pair of distinct debaters meets in turn (round-robin cross-play: each argues both sides against each
other). Speeches are generated turn by turn (``turns``): at each turn the workflow asks ``speech_requests`` who
speaks and with which prompt, generates two alternative speeches (alt 0 and alt 1) from the same transcript
prefix, and the debate continues with alt 0 only (``speeches_frame``).

A judge reads a transcript through the ordinary duel table (``judge_inputs``): the full debate, and every
branch, i.e. the transcript up to one alternative speech. ``P(A) = (1 + d) / 2`` with ``d`` the judges' folded
verdict (``ratings.verdicts.duel_verdicts``). The full debates say whether the truth wins (``outcomes``) and who
won (``debate_verdicts``, for the rating schemes); the branches give training pairs: of a speech's two
alternatives, the one after which the judge favoured the speaker's side more is chosen (``branch_pairs``).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from agon.contracts import DUELS, JUDGMENTS, MATCHES, PAIRS, PROMPTS, TRANSCRIPT, read_table, read_tables, write_table
from agon.files import write_json
from agon.judging.protocol import DUEL_COLUMNS
from agon.ratings.verdicts import duel_verdicts
from agon.tasks.evaluators import LETTERS

logger = logging.getLogger(__name__)

SIDES = ("a", "b")
FORMATS = ("sequential", "simultaneous")
# Two favours closer than this are the same favour (a tie), not a 1e-17 gain.
TIE_TOLERANCE = 1e-9
# Why a speech gives no pair, checked in this order; "" when it gives one.
DROP_REASONS = ("unjudged", "identical", "tie", "below_margin")

REQUEST_COLUMNS = ["match_id", "turn", "round", "side", "speaker", "prompt"]
TRANSCRIPT_COLUMNS = TRANSCRIPT.columns
SCHEDULE_COLUMNS = [*MATCHES.columns, "answer_a", "answer_b", "correct"]
CANDIDATE_COLUMNS = [
    "match_id",
    "prompt_id",
    "turn",
    "side",
    "speaker",
    "prompt",
    "chosen",
    "rejected",
    "chosen_favour",
    "rejected_favour",
    "dropped",
]


@dataclass(frozen=True)
class DebateConfig:
    # Speeches per debater: an opening and one reply; tiny models have little context for more.
    rounds: int = 2
    # sequential: A speaks, then B, who has heard A's speech of the round; simultaneous: both speak each round
    # having heard only the earlier rounds (neither gets the last word within a round).
    format: str = "sequential"
    # Least gain in the judge's favour (a probability) for a speech's two alternatives to make a pair.
    margin: float = 0.0
    # Whether the judge reads the background passage too. Debate on QuALITY keeps it from the judge: only the
    # debaters can quote the article, and the judge decides from what they say.
    judge_reads_background: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int | np.integer) or self.rounds < 1:
            raise ValueError(f"debate.rounds must be an integer >= 1 (speeches per debater), got {self.rounds!r}")
        if self.format not in FORMATS:
            raise ValueError(f"debate.format must be one of {FORMATS}, got {self.format!r}")
        margin = self.margin
        if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0.0 <= margin <= 1.0:
            raise ValueError(f"debate.margin must be a number in [0, 1] (a gain in probability), got {margin!r}")

    @classmethod
    def from_dict(cls, cfg: Mapping) -> "DebateConfig":
        """From the ``debate`` config section; a key it does not know is an error, never silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"debate: unknown key(s) {unknown}; expected some of {sorted(known)}")
        return cls(**cfg)


# --- the debates of an iteration ------------------------------------------------------------------------------


def distractor(reference: str, rng: np.random.Generator) -> str:
    """A wrong candidate: the integer ``reference`` moved by a random nonzero offset of 1 to 3.

    A plausible near miss makes the judge's task hard enough to be informative. It stays non-negative when the
    reference is (the embedded task has no negative answers, so a negative candidate would give itself away).
    """
    try:
        value = int(str(reference).strip())
    except ValueError:
        raise ValueError(
            f"debate: reference {reference!r} is not an integer; debate makes its wrong candidate from a numeric "
            "reference, so a task with other answers needs its candidates in the data"
        ) from None
    offset = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
    if value >= 0 > value + offset:
        offset = -offset
    return str(value + offset)


def candidates(reference: str, choices: list[str], rng: np.random.Generator) -> tuple[str, str]:
    """The right and a wrong candidate: for a multiple-choice prompt (reference = the right option's letter), the
    right option and another drawn at random, each as "<letter>. <text>" so the task's choice evaluator reads them;
    otherwise the integer reference and its ``distractor``."""
    if not choices:
        return reference, distractor(reference, rng)
    right = LETTERS.index(reference)
    other = int(rng.choice([i for i in range(len(choices)) if i != right]))
    return f"{reference}. {choices[right]}", f"{LETTERS[other]}. {choices[other]}"


def schedule(prompts: pd.DataFrame, models: list[str], seed: int) -> pd.DataFrame:
    """One debate per prompt, in prompt order: the MATCHES contract plus ``answer_a``, ``answer_b``, ``correct``
    and ``background`` (the prompts' optional background passage, as QuALITY's questions have; "" without one).

    ``model_a`` argues ``answer_a`` and ``model_b`` argues ``answer_b``; ``correct`` ("a" or "b") says which is
    the reference, drawn per question. Debaters take the ordered pairs of ``_pair_cycle`` in turn from a random
    point of the cycle, so over the iteration every debater argues both sides against every other as evenly as
    the prompt count allows; a population of one debates itself.
    """
    missing = [c for c in PROMPTS.columns if c not in prompts.columns]
    if missing:
        raise ValueError(f"debate: prompts lack column(s) {missing}")
    if not models or len(set(models)) != len(models):
        raise ValueError(f"debate: models must be a non-empty list of distinct names; got {models}")
    if prompts["prompt_id"].duplicated().any():
        repeated = prompts.loc[prompts["prompt_id"].duplicated(), "prompt_id"].unique()[:3].tolist()
        raise ValueError(f"debate: prompt_id must be unique; repeated: {repeated}")
    rng = np.random.default_rng(seed)
    cycle = _pair_cycle(models)
    start = int(rng.integers(len(cycle)))
    rows = []
    choices = prompts["choices"] if "choices" in prompts.columns else pd.Series([[]] * len(prompts))
    for k, (prompt, options) in enumerate(zip(prompts.itertuples(index=False), choices, strict=True)):
        model_a, model_b = cycle[(start + k) % len(cycle)]
        correct = "a" if rng.random() < 0.5 else "b"
        right, wrong = candidates(str(prompt.reference), list(options if options is not None else []), rng)
        answer_a, answer_b = (right, wrong) if correct == "a" else (wrong, right)
        reference = str(prompt.reference)
        match_id = f"debate-{prompt.prompt_id}"
        rows.append(
            (match_id, 0, prompt.prompt_id, prompt.prompt, reference, model_a, model_b, answer_a, answer_b, correct)
        )
    background = prompts["background"].fillna("").astype(str).to_numpy() if "background" in prompts.columns else ""
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS).astype({"round": np.int64}).assign(background=background)


def _pair_cycle(models: list[str]) -> list[tuple[str, str]]:
    """All ordered pairs of distinct models, in blocks ``(i, i + k mod n)`` for one offset k each.

    Within a block each model argues side a once and side b once, so any whole number of blocks is balanced;
    offsets k and n - k (the same pairs, sides swapped) come one after the other, so a pair's side flip follows
    soon. One model pairs with itself.
    """
    n = len(models)
    if n == 1:
        return [(models[0], models[0])]
    offsets = []
    for k in range(1, n // 2 + 1):
        offsets += [k] if 2 * k == n else [k, n - k]
    return [(models[i], models[(i + k) % n]) for k in offsets for i in range(n)]


# --- speeches -------------------------------------------------------------------------------------------------


def turns(cfg: DebateConfig) -> list[list[str]]:
    """The sides that speak at each turn: one per turn if sequential, both at once if simultaneous."""
    if cfg.format == "sequential":
        return [["a"], ["b"]] * cfg.rounds
    return [["a", "b"] for _ in range(cfg.rounds)]


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
    transcript = _checked_transcript(matches, transcript)
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
            prompt = _speech_prompt(match, side, _lines(match, speeches))
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


# --- judging --------------------------------------------------------------------------------------------------


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
    transcript = _ordered(matches, _checked_transcript(matches, transcript))
    spoken = transcript[transcript["alt"] == 0]
    by_match = {match_id: group for match_id, group in spoken.groupby("match_id", sort=False)}
    empty = spoken.iloc[:0]
    debates = {match.match_id: match for match in matches.itertuples(index=False)}
    shown = judge_reads_background
    rows = [
        _duel(match, match_id, _lines(match, by_match.get(match_id, empty)), shown)
        for match_id, match in debates.items()
    ]
    for speech in transcript.itertuples(index=False):
        match = debates[speech.match_id]
        earlier = by_match.get(speech.match_id, empty)
        earlier = earlier[earlier["turn"] < speech.turn]
        lines = [*_lines(match, earlier), _line(match, speech.side, speech.text)]
        rows.append(_duel(match, _branch_id(speech.match_id, speech.turn, speech.side, speech.alt), lines, shown))
    return pd.DataFrame(rows, columns=DUEL_COLUMNS)


def debate_verdicts(
    matches: pd.DataFrame, judgments: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The verdicts of the full debates (``duel_verdicts``; branch rows left out), for the rating schemes.

    ``d > 0`` means the judges favoured side a, so ``model_a`` won: the debater, not the answer, is rated.
    """
    full = judgments[judgments["match_id"].isin(matches["match_id"])]
    return duel_verdicts(matches, full, weights or {})


def outcomes(matches: pd.DataFrame, judgments: pd.DataFrame) -> dict:
    """Does the truth win? The judges' reading of the full debates, JSON-ready (None where nothing was judged).

    A debate is judged when ``debate_verdicts`` gives it a verdict; the judge is right when
    ``P(correct side) > 0.5``, so a tie (``P = 0.5``) counts as wrong and is also reported on its own. Per
    debater, a side it argued is won when the judge favoured it (``P(side) > 0.5``); ``correct``/``wrong`` split
    by whether that side held the reference: the key question of debate is whether arguing the truth wins.
    """
    verdicts = debate_verdicts(matches, judgments, {})
    p_a = (1.0 + verdicts["d"].to_numpy(dtype=float)) / 2.0
    judged = ~np.isnan(p_a)
    correct_is_a = matches["correct"].to_numpy() == "a"
    p_correct = np.where(correct_is_a, p_a, 1.0 - p_a)
    tie = judged & (np.abs(p_a - 0.5) <= TIE_TOLERANCE)
    right = judged & ~tie & (p_correct > 0.5)
    sides = pd.concat(
        [
            pd.DataFrame(
                {
                    "model": matches[f"model_{side}"].to_numpy(),
                    "side": side,
                    "judged": judged,
                    "won": judged & ~tie & ((p_a if side == "a" else 1.0 - p_a) > 0.5),
                    "truth": correct_is_a if side == "a" else ~correct_is_a,
                }
            )
            for side in SIDES
        ],
        ignore_index=True,
    )
    return {
        "protocol": "debate",
        "debates": len(matches),
        "judged": int(judged.sum()),
        "ties": int(tie.sum()),
        "judge_accuracy": _share(right.sum(), judged.sum()),
        "mean_p_correct": float(p_correct[judged].mean()) if judged.any() else None,
        "judge_accuracy_when_correct_is": {
            side: _share((right & mask).sum(), (judged & mask).sum())
            for side, mask in (("a", correct_is_a), ("b", ~correct_is_a))
        },
        "debaters": {str(model): _debater_summary(rows) for model, rows in sides.groupby("model", sort=True)},
    }


def _debater_summary(sides: pd.DataFrame) -> dict:
    """Judged sides and win rates of one debater: overall, per side, and arguing the correct or the wrong answer."""
    summary: dict[str, object] = {}
    for label, rows in (
        ("", sides),
        ("_as_a", sides[sides["side"] == "a"]),
        ("_as_b", sides[sides["side"] == "b"]),
        ("_correct", sides[sides["truth"]]),
        ("_wrong", sides[~sides["truth"]]),
    ):
        summary[f"judged{label}"] = int(rows["judged"].sum())
        summary[f"win_rate{label}"] = _share(int(rows["won"].sum()), int(rows["judged"].sum()))
    return summary


# --- training pairs -------------------------------------------------------------------------------------------


def speech_candidates(
    matches: pd.DataFrame, transcript: pd.DataFrame, judgments: pd.DataFrame, cfg: DebateConfig
) -> pd.DataFrame:
    """One row per speech (``CANDIDATE_COLUMNS``): its two alternatives ranked by the judge's favour for the
    speaker's side after each, and why it gives no pair (``dropped``, "" when it gives one).

    The favour is ``P(speaker's side)`` on the speech's branch: ``P(A)`` for side a, ``1 - P(A)`` for side b.
    ``dropped`` is, in this order: "unjudged" (an alternative without a verdict), "identical" (same text), "tie"
    (equal favour), "below_margin" (gain < ``cfg.margin``).
    """
    transcript = _ordered(matches, _checked_transcript(matches, transcript))
    branch_ids = [
        _branch_id(m, t, s, a)
        for m, t, s, a in zip(
            transcript["match_id"], transcript["turn"], transcript["side"], transcript["alt"], strict=True
        )
    ]
    unknown = sorted(set(judgments["match_id"]) - set(matches["match_id"]) - set(branch_ids))
    if unknown:
        raise ValueError(f"debate: judgments name {len(unknown)} unknown debate(s) or branch(es), e.g. {unknown[:3]}")
    debates = matches[["match_id", "round", "prompt_id", "model_a", "model_b"]]
    branches = (
        transcript[["match_id"]]
        .merge(debates, on="match_id", how="left")
        .assign(match_id=np.asarray(branch_ids, dtype=object))
    )
    verdicts = duel_verdicts(branches, judgments[judgments["match_id"].isin(branch_ids)], {})
    p_a = (1.0 + verdicts["d"].to_numpy(dtype=float)) / 2.0
    speeches = transcript.assign(
        prompt_id=branches["prompt_id"].to_numpy(), favour=np.where(transcript["side"] == "a", p_a, 1.0 - p_a)
    )
    key = ["match_id", "turn", "side"]
    alt0 = speeches[speeches["alt"] == 0].set_index(key)
    alt1 = speeches[speeches["alt"] == 1].set_index(key).loc[alt0.index]
    f0, f1 = alt0["favour"].to_numpy(), alt1["favour"].to_numpy()
    t0, t1 = alt0["text"].to_numpy(dtype=object), alt1["text"].to_numpy(dtype=object)
    first = ~(f1 > f0)  # alt 0 is chosen unless alt 1 was favoured more (a tie is dropped anyway)
    gain = np.abs(f0 - f1)
    dropped = np.select(
        [np.isnan(gain), t0 == t1, gain <= TIE_TOLERANCE, gain + TIE_TOLERANCE < cfg.margin], DROP_REASONS, default=""
    )
    return pd.DataFrame(
        {
            "match_id": alt0.index.get_level_values("match_id"),
            "prompt_id": alt0["prompt_id"].to_numpy(),
            "turn": alt0.index.get_level_values("turn").astype(np.int64),
            "side": alt0.index.get_level_values("side"),
            "speaker": alt0["speaker"].to_numpy(),
            "prompt": alt0["prompt"].to_numpy(),
            "chosen": np.where(first, t0, t1),
            "rejected": np.where(first, t1, t0),
            "chosen_favour": np.where(first, f0, f1),
            "rejected_favour": np.where(first, f1, f0),
            "dropped": dropped.astype(object),
        },
        columns=CANDIDATE_COLUMNS,
    )


def branch_pairs(
    matches: pd.DataFrame, transcript: pd.DataFrame, judgments: pd.DataFrame, cfg: DebateConfig
) -> pd.DataFrame:
    """The speeches' training pairs: the PAIRS contract plus ``chosen_favour`` and ``rejected_favour``.

    The prompt is the speech's prompt, ``margin`` the gain in favour, ``match_id`` the speech
    (``{debate}/t{turn}/{side}``) and both models the speaker: a debater learns from its own alternatives.
    """
    return _kept(speech_candidates(matches, transcript, judgments, cfg))


def pair_stats(candidates: pd.DataFrame) -> dict:
    """What the iteration's pairs are made of (from ``speech_candidates``), JSON-ready."""
    pairs = _kept(candidates)
    reasons = candidates["dropped"].value_counts()
    return {
        "speeches": len(candidates),
        "pairs": len(pairs),
        "pairs_per_debater": {str(m): int(c) for m, c in pairs["chosen_model"].value_counts().sort_index().items()},
        "no_pair": {reason: int(reasons.get(reason, 0)) for reason in DROP_REASONS},
        "mean_gain": _mean(pairs["margin"]),
        "mean_chosen_favour": _mean(pairs["chosen_favour"]),
        "mean_rejected_favour": _mean(pairs["rejected_favour"]),
    }


def _kept(candidates: pd.DataFrame) -> pd.DataFrame:
    kept = candidates[candidates["dropped"] == ""]
    frame = pd.DataFrame(
        {
            "prompt_id": kept["prompt_id"],
            "prompt": kept["prompt"],
            "chosen": kept["chosen"],
            "rejected": kept["rejected"],
            "margin": (kept["chosen_favour"] - kept["rejected_favour"]).astype(float),
            "match_id": [
                _speech_id(m, t, s) for m, t, s in zip(kept["match_id"], kept["turn"], kept["side"], strict=True)
            ],
            "chosen_model": kept["speaker"],
            "rejected_model": kept["speaker"],
            "chosen_favour": kept["chosen_favour"].astype(float),
            "rejected_favour": kept["rejected_favour"].astype(float),
        },
        columns=[*PAIRS.columns, "chosen_favour", "rejected_favour"],
    )
    return frame.reset_index(drop=True)


# --- helpers --------------------------------------------------------------------------------------------------


def _check_turn(cfg: DebateConfig, turn: int) -> int:
    n = len(turns(cfg))
    if isinstance(turn, bool) or not isinstance(turn, int | np.integer) or not 0 <= turn < n:
        raise ValueError(f"debate: turn must be an integer in [0, {n}) for {cfg.rounds} {cfg.format} round(s)")
    return int(turn)


def _checked_transcript(matches: pd.DataFrame, transcript: pd.DataFrame) -> pd.DataFrame:
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


def _ordered(matches: pd.DataFrame, transcript: pd.DataFrame) -> pd.DataFrame:
    """Transcript rows in match order, then turn, side, alt: the order speeches are read and rows written."""
    position = transcript["match_id"].map({m: i for i, m in enumerate(matches["match_id"])})
    order = np.lexsort((transcript["alt"], transcript["side"], transcript["turn"], position.to_numpy()))
    return transcript.iloc[order].reset_index(drop=True)


def _line(match, side: str, text: str) -> str:
    # One line per speech: a speech's own line breaks are folded so it cannot pass itself off as the opponent.
    return f"{side.upper()} ({getattr(match, f'answer_{side}')}): {' '.join(str(text).split())}"


def _lines(match, speeches: pd.DataFrame) -> list[str]:
    ordered = speeches.sort_values(["turn", "side"])
    return [_line(match, side, text) for side, text in zip(ordered["side"], ordered["text"], strict=True)]


def _speech_prompt(match, side: str, lines: list[str]) -> str:
    other = "b" if side == "a" else "a"
    own, against = getattr(match, f"answer_{side}"), getattr(match, f"answer_{other}")
    return "\n".join(
        [
            *_background(match),
            f"Question: {match.prompt}",
            f"You are debater {side.upper()}. You argue that the answer is {own}; "
            f"debater {other.upper()} argues {against}.",
            *lines,
            "Your argument:",
        ]
    )


def _background(match) -> list[str]:
    """The passage the question is about, first, when the debate has one (older matches tables have none)."""
    text = str(getattr(match, "background", "") or "")
    return [f"Background: {text}"] if text else []


def _duel(match, duel_id: str, lines: list[str], with_background: bool) -> tuple:
    # The question comes last, so a judge that scores or gives an answer to the prompt answers the question.
    prompt = "\n".join(
        [
            *(_background(match) if with_background else []),
            f"Debate. A argues the answer is {match.answer_a}; B argues it is {match.answer_b}.",
            *lines,
            str(match.prompt),
        ]
    )
    return (duel_id, prompt, match.reference, match.model_a, match.model_b, match.answer_a, match.answer_b)


def _speech_id(match_id: str, turn: int, side: str) -> str:
    return f"{match_id}/t{turn}/{side}"


def _branch_id(match_id: str, turn: int, side: str, alt: int) -> str:
    return f"{_speech_id(match_id, turn, side)}/alt{alt}"


def _share(part: int, whole: int) -> float | None:
    return float(part / whole) if whole else None


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


# --- the stage's files ------------------------------------------------------------------------------------


def write_debates(prompts_path: str | Path, out_path: str | Path, models: list[str], seed: int) -> None:
    """The iteration's debates (its matches): one per question, the debaters in round-robin cross-play."""
    write_table(schedule(read_table(prompts_path, PROMPTS), models, seed), out_path, MATCHES)


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


def write_outcomes(matches_path: str | Path, judgment_paths: list[str | Path], out_path: str | Path) -> dict:
    """The judge's accuracy and each debater's record on the full transcripts."""
    judgments = read_tables(judgment_paths, JUDGMENTS)
    report = outcomes(read_table(matches_path, MATCHES), judgments)
    write_json(report, out_path)
    logger.info("judge accuracy %s on %d of %d debates", report["judge_accuracy"], report["judged"], report["debates"])
    return report


def make_debate_pairs(
    matches_path: str | Path,
    transcript_path: str | Path,
    branch_paths: list[str | Path],
    pair_paths: Mapping[str, str | Path],
    stats_path: str | Path,
    debate: dict,
) -> None:
    """Each debater's pairs of its own speeches (one file per debater) and the iteration's pair statistics."""
    judgments = read_tables(branch_paths, JUDGMENTS)
    candidates = speech_candidates(
        read_table(matches_path, MATCHES),
        read_table(transcript_path, TRANSCRIPT),
        judgments,
        DebateConfig.from_dict(debate),
    )
    pairs = _kept(candidates)
    for model, path in pair_paths.items():
        write_table(pairs[pairs["chosen_model"] == model].reset_index(drop=True), path, PAIRS)
    stats = pair_stats(candidates)
    write_json(stats, stats_path)
    logger.info("%d pairs from %d speeches", stats["pairs"], stats["speeches"])
