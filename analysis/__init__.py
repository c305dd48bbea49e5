"""Minyi's statistics engine: survey designs, weighting, rates and intervals.

Design -> estimator -> result::

    from analysis import SurveyDesign, rake, estimate_rates
    design = SurveyDesign(weights=w, strata=street, clusters=community)
    design = rake(design, {"gender": (gender, {"F": 51_000, "M": 49_000}), ...})
    for est in estimate_rates(design, {"aware": aware}, by=street):
        print(est.domain, est.estimate, est.ci(0.95, "korn-graubard"))

Pure NumPy/SciPy; imports no web framework, database or ``survey`` code.
Every number is checked against R's ``survey`` package (tests/analysis/reference).
"""

from .design import CalibrationStep, SurveyDesign, factorize
from .errors import AnalysisError, ConvergenceError, InsufficientSample, InvalidDesign
from .estimators import DEFAULT_INDEX_SCORES, estimate_rates, satisfaction_index
from .intervals import (
    CI_METHODS,
    DEFAULT_CI_METHOD,
    R_METHOD_NAMES,
    clopper_pearson_interval,
    confidence_interval,
    korn_graubard_interval,
    logit_interval,
    normal_interval,
    wilson_interval,
)
from .results import Estimate, Interval
from .weighting import (
    COLLAPSE_RULES,
    CellReport,
    PostStratReport,
    RakeReport,
    WeightDiagnostics,
    poststratify,
    rake,
    trim_weights,
    weight_diagnostics,
)

__all__ = [
    "CI_METHODS",
    "COLLAPSE_RULES",
    "DEFAULT_CI_METHOD",
    "DEFAULT_INDEX_SCORES",
    "R_METHOD_NAMES",
    "AnalysisError",
    "CalibrationStep",
    "CellReport",
    "ConvergenceError",
    "Estimate",
    "InsufficientSample",
    "Interval",
    "InvalidDesign",
    "PostStratReport",
    "RakeReport",
    "SurveyDesign",
    "WeightDiagnostics",
    "clopper_pearson_interval",
    "confidence_interval",
    "estimate_rates",
    "factorize",
    "korn_graubard_interval",
    "logit_interval",
    "normal_interval",
    "poststratify",
    "rake",
    "satisfaction_index",
    "trim_weights",
    "weight_diagnostics",
    "wilson_interval",
]
