"""Scoring responses for integrity: which look like a bot, a ballot-stuffer
or an inattentive respondent, and why.

Pure: takes per-response facts as plain arrays and returns, per response,
the flags that fired with the figures behind each. Whether a flagged response
counts is the office's decision per round (the app stores the flags and
leaves out the kinds the round excludes).

The checks, and why each:

* ``too_fast`` - less time than a person needs to read the questions (server
  time from serving the form to the submission; tickets expire, so a form
  fetched in advance cannot lend its age to an instant submission for long).
* ``straight_lined`` - five or more scale items, all given the same answer.
* ``burst`` - more submissions through one QR code, one device or one network
  within a short window than residents arriving on their own produce. A
  community meeting also makes a channel burst, which is why this flag alone
  is shown but the office decides whether to exclude it.
* ``device_churn`` - one network sending many *different* devices within the
  window: what a tool that clears its cookies between submissions looks like.
* ``duplicate_answers`` - the same complete set of answers several times on
  one channel within an hour.
* ``channel_anomaly`` - a QR code whose answers, over the whole round, differ
  from all the other codes' far more than communities differ: stuffing at a
  steady pace makes no burst but shows here. Communities do differ, so the
  bar is high (25 points and p < 1e-6, at least 30 responses), and every
  response of the code carries the flag for the office to look at.
* ``anomalous_answers`` - a burst whose answers differ from everyone else's:
  its share of favourable answers is compared with the rest of the round
  (a two-sample z test on per-response favourable shares; flagged when the
  difference is both significant at ``anomaly_alpha`` and at least
  ``anomaly_min_difference``). A meeting of ordinary residents answers like
  their neighbours and is not flagged; 150 submissions at 85% "best" are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import erfc, sqrt

import numpy as np

from .vocabulary import QUALITY_FLAGS

#: The flags' codes, in the order they are shown (their words are in ``analysis.vocabulary``).
FLAGS = QUALITY_FLAGS.codes


@dataclass(frozen=True)
class IntegrityRules:
    """Thresholds of the checks. Defaults are set from the bot replay and the
    resident simulation in ``tests/survey/public/test_bot_replay.py``."""

    min_seconds_per_answer: float = 1.5
    straight_line_items: int = 5
    window_seconds: float = 600.0
    #: More than this many submissions within the window through one channel,
    #: or more than ``channel_burst_ratio`` times what the channel gets in an
    #: average window of the round so far (a busy city-wide code is not a
    #: burst at its usual pace), whichever is more.
    channel_burst: int = 15
    channel_burst_ratio: float = 5.0
    #: The shortest stretch the average is taken over, so that the first
    #: hours of a round do not make every channel look busy.
    min_span_seconds: float = 86400.0
    #: ... from one device, or from one network.
    device_burst: int = 5
    network_burst: int = 5
    #: At least this many distinct devices from one network within the window.
    churn_devices: int = 5
    #: At least this many identical answer sets on one channel within an hour.
    duplicate_count: int = 3
    duplicate_window_seconds: float = 3600.0
    #: Smallest burst whose answers are compared with the rest.
    anomaly_min_cluster: int = 10
    anomaly_alpha: float = 0.001
    anomaly_min_difference: float = 0.10
    #: A whole channel against all the others (communities really differ).
    channel_anomaly_min_count: int = 30
    channel_anomaly_alpha: float = 1e-6
    channel_anomaly_min_difference: float = 0.25


@dataclass
class ResponseFacts:
    """One entry per response, in any order. Times in seconds (any epoch).

    ``favourable`` is the share of the response's counted answers that are
    favourable (NaN when it gave none); ``scale_answers`` the answers to
    scale items; ``pattern`` a hashable of the whole answer set."""

    ids: Sequence[int]
    channel: Sequence[int]
    network: Sequence[str | None]
    device: Sequence[str | None]
    started: Sequence[float]
    submitted: Sequence[float]
    answered: Sequence[int]
    favourable: Sequence[float]
    scale_answers: Sequence[tuple]
    pattern: Sequence[object]
    #: Checks not to run per response (e.g. too_fast for interviewer mode).
    skip: Sequence[frozenset] = field(default_factory=list)
    #: Per response, the least seconds per answer where it differs from the
    #: rules' (an interviewer reads each question aloud; paper has no clock: 0).
    min_seconds: Sequence[float | None] = field(default_factory=list)


@dataclass(frozen=True)
class Traffic:
    """How many responses each channel had over how long a stretch of the
    round: what a channel's usual pace is. Given when ``facts`` hold only
    part of the round; else taken from the facts."""

    per_channel: dict
    span_seconds: float


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of the favourable shares of a whole round,
    so that a burst can be compared with everyone else when only the
    responses near it were read (incremental scoring)."""

    n: int
    total: float
    squares: float

    @classmethod
    def of(cls, values: np.ndarray) -> Moments:
        values = values[~np.isnan(values)]
        return cls(len(values), float(values.sum()), float((values ** 2).sum()))


def score(facts: ResponseFacts, rules: IntegrityRules = IntegrityRules(),
          round_moments: Moments | None = None, traffic: Traffic | None = None,
          channel_verdicts: dict | None = None) -> dict[int, dict[str, dict]]:
    """Response id -> {flag: figures behind it} for every response that trips a check.

    ``round_moments``, ``traffic`` and ``channel_verdicts`` (see
    :func:`channel_anomalies`): of the whole round, when ``facts`` hold only
    part of it (default: taken from the facts themselves)."""
    found: dict[int, dict[str, dict]] = defaultdict(dict)
    n = len(facts.ids)
    skip = list(facts.skip) or [frozenset()] * n
    min_seconds = list(facts.min_seconds) or [None] * n
    for i in range(n):
        rid = facts.ids[i]
        seconds = facts.submitted[i] - facts.started[i]
        least = rules.min_seconds_per_answer if min_seconds[i] is None else min_seconds[i]
        if ("too_fast" not in skip[i] and facts.answered[i]
                and seconds < least * facts.answered[i]):
            found[rid]["too_fast"] = {"seconds": round(seconds, 1), "answered": int(facts.answered[i])}
        scale = facts.scale_answers[i]
        if len(scale) >= rules.straight_line_items and len(set(scale)) == 1:
            found[rid]["straight_lined"] = {"items": len(scale)}

    if traffic is None:
        span = (max(facts.submitted) - min(facts.submitted)) if n else 0.0
        traffic = Traffic(Counter(c for c in facts.channel if c is not None), span)
    windows = max(traffic.span_seconds, rules.min_span_seconds) / rules.window_seconds
    channel_limit = {c: max(rules.channel_burst, int(rules.channel_burst_ratio * count / windows))
                     for c, count in traffic.per_channel.items()}
    clusters = []
    for key_name, keys, limit in (("channel", facts.channel, channel_limit),
                                  ("device", facts.device, rules.device_burst),
                                  ("network", facts.network, rules.network_burst)):
        for members in _bursts(keys, facts.submitted, limit, rules.window_seconds):
            figures = {"by": key_name, **_run_figures([facts.submitted[i] for i in members], rules.window_seconds)}
            for i in members:
                found[facts.ids[i]].setdefault("burst", figures)
            if key_name == "channel":
                clusters.append(members)

    for members in _churn(facts.network, facts.device, facts.submitted, rules):
        figures = {"devices": len({facts.device[j] for j in members}),
                   **_run_figures([facts.submitted[i] for i in members], rules.window_seconds)}
        for i in members:
            found[facts.ids[i]]["device_churn"] = figures

    keyed = [(facts.channel[i], facts.pattern[i]) for i in range(n)]
    for members in _bursts(keyed, facts.submitted, rules.duplicate_count - 1, rules.duplicate_window_seconds):
        for i in members:
            found[facts.ids[i]]["duplicate_answers"] = {"count": len(members)}

    favourable = np.asarray(facts.favourable, dtype=float)
    moments = round_moments or Moments.of(favourable)
    if channel_verdicts is None:
        channels = np.asarray([-1 if c is None else c for c in facts.channel], dtype=object)
        channel_verdicts = channel_anomalies(
            {c: Moments.of(favourable[channels == c]) for c in set(channels.tolist()) if c != -1}, moments, rules)
    for i in range(n):
        verdict = channel_verdicts.get(facts.channel[i])
        if verdict is not None:
            found[facts.ids[i]]["channel_anomaly"] = verdict
    for members in clusters:
        verdict = _anomaly(favourable, members, moments, rules)
        if verdict is not None:
            for i in members:
                found[facts.ids[i]]["anomalous_answers"] = verdict
    return dict(found)


def _run_figures(times: list[float], window: float) -> dict:
    """What a reason states of a run: how many, over how long, and the most
    within any one window (a run of overlapping windows can last hours)."""
    times = sorted(times)
    peak = start = 0
    for end in range(len(times)):
        while times[end] - times[start] > window:
            start += 1
        peak = max(peak, end - start + 1)
    return {"count": len(times), "minutes": window / 60, "span_minutes": round((times[-1] - times[0]) / 60),
            "peak": peak}


def _bursts(keys: Sequence, times: Sequence[float], limit: int | dict, window: float) -> list[list[int]]:
    """Runs of indices with the same key where more than ``limit`` (one for
    all keys, or per key) fall within ``window`` seconds of each other;
    overlapping windows join into one run. A None key never makes a burst."""
    by_key: dict = defaultdict(list)
    for i, key in enumerate(keys):
        if key is not None and not (isinstance(key, tuple) and None in key):
            by_key[key].append(i)
    runs: list[list[int]] = []
    for key, indices in by_key.items():
        most = limit.get(key, 0) if isinstance(limit, dict) else limit
        if len(indices) <= most:
            continue
        indices.sort(key=lambda i: times[i])
        marked: list[int] = []
        start = 0
        for end in range(len(indices)):
            while times[indices[end]] - times[indices[start]] > window:
                start += 1
            if end - start + 1 > most:
                # Mark each position once: linear even when one key holds everything.
                marked.extend(range(max(start, marked[-1] + 1 if marked else 0), end + 1))
        runs.extend(_consecutive(marked, indices))
    return runs


def _consecutive(positions: list[int], indices: list[int]) -> list[list[int]]:
    """Group sorted positions into runs of consecutive positions, as indices."""
    runs: list[list[int]] = []
    for p in positions:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return [[indices[p] for p in run] for run in runs]


def _churn(networks, devices, times, rules: IntegrityRules) -> list[list[int]]:
    """Per network, windows holding at least ``churn_devices`` distinct devices."""
    by_network: dict = defaultdict(list)
    for i, net in enumerate(networks):
        if net is not None and devices[i] is not None:
            by_network[net].append(i)
    runs = []
    for indices in by_network.values():
        if len({devices[i] for i in indices}) < rules.churn_devices:
            continue
        indices.sort(key=lambda i: times[i])
        marked: list[int] = []
        start = 0
        seen: Counter = Counter()
        for end in range(len(indices)):
            seen[devices[indices[end]]] += 1
            while times[indices[end]] - times[indices[start]] > rules.window_seconds:
                seen[devices[indices[start]]] -= 1
                if not seen[devices[indices[start]]]:
                    del seen[devices[indices[start]]]
                start += 1
            if len(seen) >= rules.churn_devices:
                marked.extend(range(max(start, marked[-1] + 1 if marked else 0), end + 1))
        runs.extend(_consecutive(marked, indices))
    return runs


def channel_anomalies(per_channel: dict, round_moments: Moments, rules: IntegrityRules) -> dict:
    """Channel -> figures, for each channel whose favourable share differs from
    all the other channels' by ``channel_anomaly_min_difference`` or more,
    beyond chance at ``channel_anomaly_alpha`` (two-sample z test)."""
    found = {}
    for channel, m in per_channel.items():
        n_b = round_moments.n - m.n
        if m.n < rules.channel_anomaly_min_count or n_b < rules.channel_anomaly_min_count:
            continue
        mean_a, mean_b = m.total / m.n, (round_moments.total - m.total) / n_b
        var_a = max(0.0, (m.squares - m.n * mean_a ** 2) / (m.n - 1))
        var_b = max(0.0, (round_moments.squares - m.squares - n_b * mean_b ** 2) / (n_b - 1))
        difference = mean_a - mean_b
        se = sqrt(var_a / m.n + var_b / n_b)
        p = (0.0 if difference else 1.0) if se == 0 else erfc(abs(difference) / se / sqrt(2))
        if p < rules.channel_anomaly_alpha and abs(difference) >= rules.channel_anomaly_min_difference:
            found[channel] = {"share": round(mean_a, 3), "others": round(mean_b, 3), "count": m.n, "p": p}
    return found


def _anomaly(favourable: np.ndarray, members: list[int], moments: Moments, rules: IntegrityRules) -> dict | None:
    """Compare a burst's favourable share with everyone else's (two-sample z)."""
    a = favourable[members]
    a = a[~np.isnan(a)]
    n_b = moments.n - len(a)
    if len(a) < rules.anomaly_min_cluster or n_b < rules.anomaly_min_cluster:
        return None
    sum_b = moments.total - float(a.sum())
    mean_b = sum_b / n_b
    var_b = max(0.0, (moments.squares - float((a ** 2).sum()) - n_b * mean_b ** 2) / (n_b - 1))
    difference = float(a.mean()) - mean_b
    se = sqrt(a.var(ddof=1) / len(a) + var_b / n_b)
    if se == 0:
        p = 0.0 if difference else 1.0
    else:
        p = erfc(abs(difference) / se / sqrt(2))
    if p < rules.anomaly_alpha and abs(difference) >= rules.anomaly_min_difference:
        return {"share": round(float(a.mean()), 3), "others": round(mean_b, 3), "count": len(a), "p": p}
    return None
