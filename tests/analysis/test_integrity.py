"""The integrity checks one by one, on hand-made facts."""

from __future__ import annotations

import random

import pytest

from analysis.integrity import IntegrityRules, ResponseFacts, score

MINUTE = 60.0


def facts(n, *, channel=None, network=None, device=None, times=None, seconds=300.0, answered=20,
          favourable=None, scale=None, pattern=None):
    times = times if times is not None else [i * 3600.0 for i in range(n)]
    return ResponseFacts(
        ids=list(range(n)),
        channel=channel if channel is not None else [1] * n,
        network=network if network is not None else [f"net{i}" for i in range(n)],
        device=device if device is not None else [f"dev{i}" for i in range(n)],
        started=[t - seconds for t in times],
        submitted=list(times),
        answered=[answered] * n,
        favourable=favourable if favourable is not None else [0.6] * n,
        scale_answers=scale if scale is not None else [("a", "b", "a", "b", "a")] * n,
        pattern=pattern if pattern is not None else list(range(n)),
    )


def flagged(found, flag):
    return {rid for rid, flags in found.items() if flag in flags}


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([0, 1, 2, 3, 4], set()),                       # five: not more than five
        ([0, 1, 2, 3, 4, 10], {0, 1, 2, 3, 4, 5}),      # six within ten minutes (inclusive)
        ([0, 1, 2, 3, 4, 11], set()),                   # the sixth is too late
        ([0, 20, 21, 22, 23, 24, 25, 60], {1, 2, 3, 4, 5, 6}),
    ],
)
def test_network_burst_is_more_than_five_within_ten_minutes(minutes, expected):
    found = score(facts(len(minutes), network=["same"] * len(minutes), device=["one"] * len(minutes),
                        times=[m * MINUTE for m in minutes]))
    assert flagged(found, "burst") == expected
    if expected:
        assert found[min(expected)]["burst"]["by"] in ("network", "device")


def test_missing_keys_never_make_a_burst():
    n = 30
    found = score(facts(n, channel=[None] * n, network=[None] * n, device=[None] * n, times=[0.0] * n))
    assert flagged(found, "burst") == set() and flagged(found, "device_churn") == set()


def test_channel_burst_needs_more_than_fifteen():
    assert flagged(score(facts(15, times=[i * 10.0 for i in range(15)])), "burst") == set()
    found = score(facts(16, times=[i * 10.0 for i in range(16)]))
    assert flagged(found, "burst") == set(range(16))
    assert found[0]["burst"] == {"by": "channel", "count": 16, "minutes": 10.0, "span_minutes": 2, "peak": 16}


def test_a_long_run_reports_its_span_and_its_peak_window():
    # One network, one submission every 100 s for 98 minutes: never more than
    # seven in ten minutes, yet more than five in every ten - one long run.
    n = 60
    found = score(facts(n, network=["same"] * n, times=[i * 100.0 for i in range(n)]))
    assert flagged(found, "burst") == set(range(n))
    assert found[0]["burst"] == {"by": "network", "count": 60, "minutes": 10.0, "span_minutes": 98, "peak": 7}
    assert found[0]["device_churn"]["devices"] == 60 and found[0]["device_churn"]["peak"] == 7


def test_device_churn_is_many_devices_on_one_network():
    n = 5
    found = score(facts(n, network=["cafe"] * n, times=[i * MINUTE for i in range(n)]))
    assert flagged(found, "device_churn") == set(range(n))
    # Four devices, or five spread over an hour, are not churn.
    assert flagged(score(facts(4, network=["cafe"] * 4)), "device_churn") == set()
    assert flagged(score(facts(5, network=["cafe"] * 5, times=[i * 15 * MINUTE for i in range(5)])),
                   "device_churn") == set()


def test_identical_answer_sets_on_one_channel_within_an_hour():
    times = [0.0, 10 * MINUTE, 20 * MINUTE, 5 * 3600.0]
    found = score(facts(4, pattern=["p"] * 4, times=times))
    assert flagged(found, "duplicate_answers") == {0, 1, 2}
    # The same set on different channels is not a duplicate.
    assert flagged(score(facts(3, pattern=["p"] * 3, channel=[1, 2, 3], times=[0.0] * 3)), "duplicate_answers") == set()


def test_too_fast_and_straight_lined():
    found = score(facts(2, seconds=29.0, answered=20, scale=[("a",) * 5, ("a",) * 4]))
    assert flagged(found, "too_fast") == {0, 1} and found[0]["too_fast"] == {"seconds": 29.0, "answered": 20}
    assert flagged(found, "straight_lined") == {0}
    assert flagged(score(facts(1, seconds=30.0, answered=20)), "too_fast") == set()


def test_a_burst_answering_like_everyone_else_is_not_anomalous():
    rng = random.Random(3)
    n_burst, n_rest = 40, 200
    times = [i * 20.0 for i in range(n_burst)] + [10 * 86400 + i * 3600.0 for i in range(n_rest)]
    favourable = [rng.betavariate(6, 4) for _ in range(n_burst + n_rest)]
    found = score(facts(n_burst + n_rest, times=times, favourable=favourable))
    assert flagged(found, "burst") == set(range(n_burst))
    assert flagged(found, "anomalous_answers") == set()


def test_a_burst_answering_unlike_everyone_else_is_anomalous():
    rng = random.Random(4)
    n_burst, n_rest = 30, 200
    times = [i * 2.0 for i in range(n_burst)] + [10 * 86400 + i * 3600.0 for i in range(n_rest)]
    favourable = [rng.betavariate(17, 3) for _ in range(n_burst)] + [rng.betavariate(6, 4) for _ in range(n_rest)]
    found = score(facts(n_burst + n_rest, times=times, favourable=favourable))
    assert flagged(found, "anomalous_answers") == set(range(n_burst))
    figures = found[0]["anomalous_answers"]
    assert figures["count"] == n_burst and figures["share"] > figures["others"] + 0.2 and figures["p"] < 0.001


def test_scoring_does_not_depend_on_the_order_of_responses():
    rng = random.Random(5)
    n = 120
    base = facts(n, network=[f"n{rng.randrange(6)}" for _ in range(n)], times=[rng.uniform(0, 7200) for _ in range(n)],
                 favourable=[rng.random() for _ in range(n)], pattern=[rng.randrange(4) for _ in range(n)])
    order = list(range(n))
    rng.shuffle(order)
    shuffled = ResponseFacts(**{name: [getattr(base, name)[i] for i in order]
                                for name in ("ids", "channel", "network", "device", "started", "submitted",
                                             "answered", "favourable", "scale_answers", "pattern")})
    first, second = score(base), score(shuffled)
    assert {k: set(v) for k, v in first.items()} == {k: set(v) for k, v in second.items()}
    assert first  # the data do trip checks, so the comparison means something


def test_rules_can_be_loosened():
    rules = IntegrityRules(channel_burst=100)
    assert flagged(score(facts(16, times=[0.0] * 16), rules), "burst") == set()


def test_a_busy_channel_at_its_usual_pace_is_not_a_burst():
    # 4,000 responses over two days through one code: about 28 per 10 minutes
    # on average: its usual pace, not a burst.
    rng = random.Random(6)
    times = sorted(rng.uniform(0, 2 * 86400) for _ in range(4000))
    found = score(facts(4000, times=times, network=[None] * 4000, device=[None] * 4000))
    assert flagged(found, "burst") == set()
    # The same code receiving 150 within a minute is one.
    burst_times = times + [86400 + i * 0.4 for i in range(150)]
    found = score(facts(4150, times=burst_times, network=[None] * 4150, device=[None] * 4150))
    assert set(range(4000, 4150)) <= flagged(found, "burst")


def test_a_code_stuffed_at_a_steady_pace_is_an_anomalous_channel():
    # Four codes, one reply an hour each: no burst anywhere. Code 1 answers
    # at about 95% favourable, the others at about 55%.
    rng = random.Random(8)
    n = 4 * 150
    channel = [i % 4 for i in range(n)]
    favourable = [rng.betavariate(19, 1) if c == 1 else rng.betavariate(5.5, 4.5) for c in channel]
    found = score(facts(n, channel=channel, favourable=favourable, times=[i * 900.0 for i in range(n)]))
    assert flagged(found, "channel_anomaly") == {i for i in range(n) if channel[i] == 1}
    assert flagged(found, "burst") == set()


def test_communities_that_really_differ_are_not_anomalous_channels():
    # Moods from 50% to 75% favourable, as in the resident simulation.
    rng = random.Random(9)
    moods = [0.50, 0.55, 0.60, 0.65, 0.70, 0.75]
    n = 6 * 200
    channel = [i % 6 for i in range(n)]
    favourable = [min(1.0, max(0.0, rng.gauss(moods[c], 0.15))) for c in channel]
    found = score(facts(n, channel=channel, favourable=favourable, times=[i * 900.0 for i in range(n)]))
    assert flagged(found, "channel_anomaly") == set()
