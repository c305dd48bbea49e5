"""Poster PDF speed: python bench/bench_posters.py [--pages 200]"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from survey.renderers.qr import Poster, poster_pdf  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--pages", type=int, default=200)
args = parser.parse_args()
posters = [Poster("2026年创文第一次模拟问卷调查", f"示范区 东风街道 第{i}社区", "北门公告栏",
                  f"https://minyi.example.gov.cn/s/token{i:06d}xxxxxxxxxxxx") for i in range(args.pages)]
poster_pdf(posters[:1])  # font registration, once per process
start = time.perf_counter()
pdf = poster_pdf(posters)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"{args.pages} posters: {elapsed:.2f} s ({elapsed / args.pages * 1000:.1f} ms/page), "
      f"{len(pdf) / 1024:.0f} KB, peak RSS {peak / 2**20:.0f} MB")
