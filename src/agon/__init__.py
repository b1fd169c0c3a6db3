"""Agon: iterative self-play alignment of language models through competition."""

__version__ = "0.1.0"
