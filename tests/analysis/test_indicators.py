"""Indicators: the satisfaction index."""

from __future__ import annotations

import numpy as np
import pytest

import analysis
from analysis import (
    InvalidDesign,
    SurveyDesign,
    satisfaction_index,
)

# -- satisfaction index -------------------------------------------------------------


def test_satisfaction_index_counts_top_box_and_checks_range():
    des = SurveyDesign(weights=np.ones(5))
    (e,) = satisfaction_index(des, [100, 80, 100, np.nan, 0])
    assert e.kind == "index" and e.n == 4 and e.successes == 2
    assert e.estimate == pytest.approx(70.0)
    scale = dict(zip([1, 2, 3, 4, 5], analysis.DEFAULT_INDEX_SCORES))
    (f,) = satisfaction_index(des, ["1", 2, 1.0, "不了解", 5], scale=scale)
    assert (f.n, f.successes, f.estimate) == (e.n, e.successes, e.estimate)
    with pytest.raises(InvalidDesign, match="0-100"):
        satisfaction_index(des, [100, 120, 0, 0, 0])
