"""The debate protocol: two debaters argue opposite answers to a question, a judge picks the side it believes.

Each question gets a right and a wrong candidate answer and two debaters, one per side (``schedule``). Turn by
turn, each speaker gives two alternative speeches and the debate continues with the first (``speeches``). The
judges read the full debates and every branch, the transcript up to one alternative (``transcript``). The full
debates say whether the truth wins and who won (``outcomes``). Of a speech's two alternatives, the one after
which the judge favoured the speaker's side more is chosen and the other rejected (``pairs``).
"""

from agon.debate.outcomes import write_outcomes
from agon.debate.pairs import make_debate_pairs
from agon.debate.schedule import write_debates
from agon.debate.speeches import write_speeches
from agon.debate.transcript import write_transcript

__all__ = [
    "make_debate_pairs",
    "write_debates",
    "write_outcomes",
    "write_speeches",
    "write_transcript",
]
