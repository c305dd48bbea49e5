"""Errors raised by the statistics engine.

    AnalysisError               base; never raised itself
     ├── InvalidDesign          inconsistent design arrays, lonely PSU, bad weights,
     │                          margins or cells that do not match the data
     ├── InsufficientSample     nothing to estimate (no respondent with a value)
     └── ConvergenceError       raking did not converge within ``max_iter``

All are ``ValueError`` subclasses as well, so callers that validate input with
``except ValueError`` keep working.
"""

from __future__ import annotations

__all__ = ["AnalysisError", "ConvergenceError", "InsufficientSample", "InvalidDesign"]


class AnalysisError(ValueError):
    """Base of the analysis errors."""


class InvalidDesign(AnalysisError):
    """The design, its weights or a calibration target is unusable."""


class InsufficientSample(AnalysisError):
    """There is nothing to estimate from."""


class ConvergenceError(AnalysisError):
    """Raking did not reach the requested tolerance."""
