"""Seeded fuzzing of the image loader and ``vton tryon`` (tests/fuzz_images.py, docs/reliability.md).

In the suite: a few hundred cases, each through the real loader in a worker process, every
tenth through a tiny-bundle ``vton tryon``. The long run (>= 10,000 cases) is ``slow``;
its figures are in docs/reliability.json.
"""

from __future__ import annotations

import json

import fuzz_images
import pytest


def _report(summary: dict) -> str:
    keys = ("crashes", "hangs", "wrong_exit_codes", "harness_errors", "failures")
    return json.dumps({k: summary[k] for k in keys}, indent=1)[:4000]


def _clean(summary: dict) -> bool:
    return summary["crashes"] == summary["hangs"] == summary["wrong_exit_codes"] == summary["harness_errors"] == 0


def test_the_cases_are_deterministic_and_varied():
    a = [fuzz_images.make_case(3, i) for i in range(40)]
    b = [fuzz_images.make_case(3, i) for i in range(40)]
    assert a == b
    assert len({kind for kind, _, _ in a}) >= 8
    assert fuzz_images.make_case(4, 0) != a[0]


def test_fuzz_a_few_hundred_cases(tiny_bundle):
    summary = fuzz_images.run(300, seed=20_260_000, bundle=tiny_bundle, tryon_every=10, timeout=60)
    assert _clean(summary), _report(summary)
    assert summary["loaded"] > 20 and summary["refused"] > 100  # both paths were exercised
    assert summary["tryon_runs"] == 30 and set(summary["tryon_exit_codes"]) == {"exit 0", "exit 2"}


@pytest.mark.slow
def test_fuzz_ten_thousand_cases(tiny_bundle):
    summary = fuzz_images.run(10_000, seed=1, bundle=tiny_bundle, tryon_every=50, timeout=60)
    assert _clean(summary), _report(summary)
