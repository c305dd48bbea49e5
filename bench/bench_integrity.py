"""Integrity scoring (``analysis.integrity.score``) on large rounds, pure.

    python bench/bench_integrity.py

Cases: 100,000 responses over a week through 50 codes from 5,000 networks
(a city-wide round); 20,000 within one hour from ONE network with distinct
devices (the worst case for the burst and churn windows: everything is in
one window); 150 bots inside 100,000 residents.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.integrity import ResponseFacts, score  # noqa: E402


def facts(n, rng, *, span, channels, networks):
    times = sorted(rng.uniform(0, span) for _ in range(n))
    return ResponseFacts(
        ids=list(range(n)), channel=[rng.randrange(channels) for _ in range(n)],
        network=[f"n{rng.randrange(networks)}" for _ in range(n)], device=[f"d{i}" for i in range(n)],
        started=[t - rng.uniform(60, 600) for t in times], submitted=times, answered=[20] * n,
        favourable=[rng.betavariate(6, 4) for _ in range(n)],
        scale_answers=[tuple(rng.choice("ab") for _ in range(7)) for _ in range(n)],
        pattern=[rng.randrange(10**12) for _ in range(n)],
    )


def timed(label, f):
    start = time.perf_counter()
    found = score(f)
    print(f"{label}: {time.perf_counter() - start:.3f} s, {len(found)} flagged")


def main() -> None:
    rng = random.Random(1)
    timed("100,000 over a week, 50 codes, 5,000 networks", facts(100_000, rng, span=7 * 86400, channels=50, networks=5000))
    timed("20,000 within an hour from one network", facts(20_000, rng, span=3600, channels=8, networks=1))
    city = facts(100_000, rng, span=7 * 86400, channels=50, networks=5000)
    for i in range(150):
        city.ids.append(100_000 + i)
        city.channel.append(7)
        city.network.append(f"bot{i}")
        city.device.append(f"bot{i}")
        city.started.append(3 * 86400 - 2400)
        city.submitted.append(3 * 86400 + rng.uniform(0, 60))
        city.answered.append(20)
        city.favourable.append(rng.betavariate(17, 3))
        city.scale_answers.append(("a", "b") * 3)
        city.pattern.append(rng.randrange(10**12))
    start = time.perf_counter()
    found = score(city)
    bots = sum(1 for i in range(100_000, 100_150) if found.get(i))
    print(f"150 bots in 100,000 residents: {time.perf_counter() - start:.3f} s, bots flagged {bots}/150, "
          f"residents flagged {sum(1 for i in found if i < 100_000)}")


if __name__ == "__main__":
    main()
