"""Majority-vote reference label per image for binary and category dimensions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .coding import class_counts


@dataclass(frozen=True)
class MajorityVote:
    """Per image: winning code (-1 = no label), tie flag, votes for the winner, total votes."""

    label: np.ndarray
    tied: np.ndarray
    votes: np.ndarray
    n: np.ndarray


def majority_vote(codes: np.ndarray, n_classes: int, tie_break: int | None = None) -> MajorityVote:
    """Most frequent class per image, with an explicit tie rule.

    Source: chest radiograph paper, Methods ("the reference standard ... was based on the
    majority opinion between 3 observers"). Tie rule: when two or more classes share the top
    count the image gets *no* label (-1, reported as null) and ``tied=True``, so a split panel
    never silently becomes a reference label. A caller who wants the conservative reading of a
    binary acceptability dimension passes ``tie_break`` = the code of "non-acceptable"; that
    class then wins the tie if it is among the tied classes (``tied`` stays True, so the rule
    applied is still visible). Images without ratings get -1 and ``tied=False``.
    """
    return majority_vote_counts(class_counts(codes, n_classes), tie_break)


def majority_vote_counts(counts: np.ndarray, tie_break: int | None = None) -> MajorityVote:
    """``majority_vote`` from an images x classes count table (same tie rule)."""
    n = counts.sum(axis=1)
    top = counts.max(axis=1) if counts.shape[1] else np.zeros(counts.shape[0], dtype=np.int64)
    n_top = (counts == top[:, None]).sum(axis=1)
    tied = (n > 0) & (n_top > 1)
    label = np.where(n > 0, counts.argmax(axis=1), -1)
    label = np.where(tied, -1, label)
    if tie_break is not None:
        wins = tied & (counts[:, tie_break] == top)
        label = np.where(wins, tie_break, label)
    return MajorityVote(label=label, tied=tied, votes=np.where(n > 0, top, 0), n=n)
