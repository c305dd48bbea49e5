"""Quality checks run on each submission. Flags are kept with the response;
whether a flagged response counts is the analysis's decision, not ours."""

from __future__ import annotations

from typing import Iterable

from questions import Question

STRAIGHT_LINE_MIN_ITEMS = 5


def quality_flags(
    answers: dict[str, object],
    questions: Iterable[Question],
    duration_seconds: float,
    min_seconds_per_question: float,
) -> list[str]:
    """Return the names of the checks the submission trips.

    ``too_fast``: less time than ``min_seconds_per_question`` per answer given
    (nobody reads and answers twenty questions in ten seconds).
    ``straight_lined``: five or more scale items, all given the same answer.
    """
    flags = []
    if answers and duration_seconds < min_seconds_per_question * len(answers):
        flags.append("too_fast")
    scale_answers = [answers[q.id] for q in questions if q.type == "satisfaction5" and q.id in answers]
    if len(scale_answers) >= STRAIGHT_LINE_MIN_ITEMS and len(set(scale_answers)) == 1:
        flags.append("straight_lined")
    return flags
