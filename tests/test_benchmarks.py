"""The speed and memory targets, opt in with ``python -m pytest -m benchmark`` (about a minute and a half).

Each size runs in a fresh process (``benchmarks/scale.py --child``), so peak RSS is its own; the fastest of
three runs is compared with the target, since other load on the machine only ever slows a run down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCALE = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"

pytestmark = pytest.mark.benchmark


def fastest(residents: int, repeat: int) -> dict:
    runs = [json.loads(subprocess.run([sys.executable, str(SCALE), "--child", "--residents", str(residents)],
                                      check=True, capture_output=True, text=True).stdout) for _ in range(repeat)]
    return min(runs, key=lambda run: run["wall_seconds"])


def test_a_100000_resident_county_runs_a_year_within_one_and_a_half_seconds():
    run = fastest(100_000, repeat=3)
    assert run["wall_seconds"] <= 1.5, run


def test_a_million_resident_county_runs_a_year_within_ten_seconds_and_one_and_a_half_gigabytes():
    run = fastest(1_000_000, repeat=2)
    assert run["wall_seconds"] <= 10.0, run
    assert run["peak_rss_mb"] <= 1.5 * 1024, run
