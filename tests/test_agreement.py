import pandas as pd
import pytest

from agon.contracts import JUDGMENTS, MATCHES
from agon.judging.agreement import agreement

# m0: a right, b wrong; m1: a wrong, b right; m2: both wrong; m3: both wrong
MATCHES_FRAME = pd.DataFrame(
    [(f"m{k}", 0, f"p{k}", "q", "1", "a", "b") for k in range(4)],
    columns=MATCHES.columns,
)
VERIFIER = pd.DataFrame(
    [
        (m, "verifier", "verifier", "ab", sa, sb, sa - sb, "", True, "")
        for m, sa, sb in [("m0", 1.0, 0.0), ("m1", 0.0, 1.0), ("m2", 0.0, 0.0), ("m3", 0.0, 0.0)]
    ],
    columns=JUDGMENTS.columns,
)


def _peer(preferences: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(m, "c", "peer", "ab", 0.0, 0.0, p, "", True, "") for m, p in preferences.items()],
        columns=JUDGMENTS.columns,
    )


def test_agreement_splits_one_correct_from_both_wrong_duels():
    # m0 agrees, m1 disagrees; on the both-wrong duels the peer picks a winner once (m2) and abstains once (m3)
    report = agreement(MATCHES_FRAME, _peer({"m0": 0.4, "m1": 0.2, "m2": -0.3, "m3": 0.0}), VERIFIER)
    assert report["one_correct_duels"] == 2 and report["agreement_one_correct"] == 0.5
    assert report["abstained_one_correct"] == 0.0
    assert report["both_wrong_duels"] == 2 and report["picked_winner_both_wrong"] == 0.5


def test_a_duel_without_a_peer_verdict_counts_as_abstained():
    report = agreement(MATCHES_FRAME, _peer({"m0": 0.4}), VERIFIER)
    assert report["with_verdict"] == 1
    assert report["agreement_one_correct"] == 1.0
    assert report["abstained_one_correct"] == pytest.approx(0.5)
