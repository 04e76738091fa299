"""The service under load and under fuzzing, in the short form `make test` runs (`make bench`
runs both in full): no error under concurrent batch and single-record requests, no 5xx and no
answer that breaks its OpenAPI document."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.service import Kind, fuzz, load
from tests.conftest import MODEL_FACTORS as FACTORS
from tests.serving.conftest import PLAN_TOKEN, SCORE_TOKEN

pytestmark = [pytest.mark.slow]


def mix(frame) -> list[Kind]:
    rows = [
        {k: (None if np.isnan(v) else v) for k, v in r.items()}
        for r in frame[FACTORS].astype(float).to_dict(orient="records")
    ]
    ids = frame["entity_id"].tolist()
    return [
        Kind("batch of 100 rows", "/score", {"rows": rows[:100]}, 0.3),
        Kind("one row", "/score", {"rows": rows[:1], "reasons": 3}, 0.5),
        Kind("one enterprise", "/score_enterprises", {"entity_ids": ids[:1]}, 0.2),
    ]


def test_concurrent_batch_and_single_requests_all_succeed(served, tiny_profile):
    frame = tiny_profile.frame[tiny_profile.frame["snapshot"] == "screening"]
    found = load(served.url, SCORE_TOKEN, mix(frame), seconds=6, clients=4)
    assert found["requests"] > 50
    assert found["errors"] == 0, found
    for kind in found["kinds"].values():
        assert kind["requests"] > 0 and kind["p50_ms"] <= kind["p99_ms"]


def test_schemathesis_finds_no_server_error_and_no_answer_off_its_schema(served, tmp_path):
    found = fuzz(served.url, PLAN_TOKEN, seconds=25, report=tmp_path / "schemathesis.txt")
    assert found["passed"], found["tail"]
    assert found["cases"] > 100
