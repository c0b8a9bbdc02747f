"""bench/cost_curves.py: the growth exponent, and what the cost-curves section flags."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cost_curves():
    spec = importlib.util.spec_from_file_location("cost_curves", ROOT / "bench" / "cost_curves.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(lines: int, papers: int, keyword_p50: float, daily_p99: float, hello_rps: float = 1000.0) -> dict:
    kinds = {"hello-world": {"rps": hello_rps, "p50": 5.0, "p99": 9.0},
             "daily `/papers/date/…`": {"rps": 500.0, "p50": 30.0, "p99": daily_p99}}
    return {"import": {"lines": lines, "seconds": 10.0, "cpu_seconds": 8.0, "commit": "abc1234", "src_dirty": []},
            "hf": {"counts": {"papers": papers}, "db_mib": papers / 1000},
            "search": {"modes": {"keyword": {"p50": keyword_p50, "p99": 2 * keyword_p50}}},
            "pages": {"modes": {"cache on": {"kinds": kinds, "processes": []}}}}


def test_exponent_is_one_for_linear_growth_and_zero_for_flat(cost_curves):
    assert cost_curves.exponent(10.0, 40.0, 1000, 4000) == pytest.approx(1.0)
    assert cost_curves.exponent(10.0, 10.0, 1000, 4000) == pytest.approx(0.0)
    assert cost_curves.exponent(None, 10.0, 1000, 4000) is None
    assert cost_curves.exponent(10.0, 10.0, 1000, 1000) is None


def test_a_latency_growing_with_the_corpus_is_flagged_and_a_flat_one_is_not(cost_curves):
    text = cost_curves.render([_run(1000, 1000, keyword_p50=25.0, daily_p99=40.0),
                               _run(4000, 4000, keyword_p50=100.0, daily_p99=40.0)])
    flagged = text.split("k ≥ 0.5")[1]
    assert "search keyword p50" in flagged and "k = 1.00" in flagged
    assert "page daily" not in flagged
    assert "| disk: database MiB | 1 | 4 | 4.00 (+1.00) |" in text


def test_no_ratio_is_drawn_against_a_run_of_other_code(cost_curves):
    earlier = dict(_run(9000, 9000, keyword_p50=300.0, daily_p99=40.0), column="earlier run", other_code=True)
    text = cost_curves.render([_run(1000, 1000, keyword_p50=25.0, daily_p99=40.0), earlier])
    row = next(line for line in text.splitlines() if line.startswith("| search keyword p50"))
    assert row.endswith("| other code |")
    assert "9,000 lines (earlier run)" in text
