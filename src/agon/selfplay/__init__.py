"""The selfplay protocol (SPPO, iterative DPO): each policy's K samples per prompt are ranked against each other.

The ranker compares every two samples of a policy (``comparisons``); its verdicts give each sample a win rate
against the policy (``win_rates``). Per model and prompt, the strategy picks the pair with the higher win rate
chosen, and the model trains on pairs of its own answers (``pairs``), with the soft SPPO loss if asked (``sppo``).
"""

from agon.selfplay.comparisons import write_comparisons
from agon.selfplay.pairs import make_selfplay_pairs
from agon.selfplay.win_rates import write_win_rates

__all__ = ["make_selfplay_pairs", "write_comparisons", "write_win_rates"]
