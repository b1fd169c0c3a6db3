"""The tribe protocol (SPARTA-style population combat): two members answer one prompt, the judges compare them.

Members duel the opponents that matchmaking picks by rating (``matchmaking``). A duel's verdict is its judges'
reputation-weighted aggregate ``d``; when ``|d|`` clears the margin, the winner's answer is chosen and the
loser's rejected (``pairs``).
"""

from agon.tribe.matchmaking import MatchmakingConfig, schedule_matches, write_duel_prompts
from agon.tribe.pairs import PairsConfig, make_pairs

__all__ = ["MatchmakingConfig", "PairsConfig", "make_pairs", "schedule_matches", "write_duel_prompts"]
