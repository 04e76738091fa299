"""The steward's tables and heatmap, built from a small inline quality report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from riskdraw.governance.explore import plot_quality_heatmap, scores_by, source_scores
from riskdraw.governance.quality import DIMENSIONS


def _source(source_id, kind, department, records_in, quarantined, scores, status, error=None):
    return {
        "source_id": source_id,
        "kind": kind,
        "department": department,
        "records_in": records_in,
        "records_accepted": records_in - quarantined,
        "records_quarantined": quarantined,
        "reconciles": True,
        "error": error,
        "status": status,
        "scores": dict(zip(DIMENSIONS, scores, strict=True)),
        "dimension_status": {
            d: ("n/a" if s is None else ("fail" if s < 0.9 else ("warn" if s < 0.99 else "ok")))
            for d, s in zip(DIMENSIONS, scores, strict=True)
        },
        "repairs": {},
        "rules": {},
    }


REPORT = {
    "per_source": [
        _source("S1", "penalty", "A", 100, 10, [1.0, 0.9, 0.95, None, 1.0, 0.99], "warn"),
        _source("S2", "licence", "A", 300, 3, [1.0, 0.99, 1.0, 1.0, 0.5, None], "fail"),
        _source("S3", "penalty", "B", 50, 50, [None] * 6, "fail", error="x.csv: truncated"),
    ]
}


@pytest.fixture
def sources() -> pd.DataFrame:
    return source_scores(REPORT)


def test_source_scores_is_one_row_per_source_with_float_scores(sources):
    assert list(sources.index) == ["S1", "S2", "S3"]
    assert all(pd.api.types.is_float_dtype(t) for t in sources[list(DIMENSIONS)].dtypes)
    assert np.isnan(sources.loc["S1", "consistency"])
    assert sources.loc["S2", "timeliness_status"] == "fail"
    assert sources.loc["S3", "error"] == "x.csv: truncated"


def test_source_scores_counts_warn_and_fail_dimensions_and_the_lowest_score(sources):
    assert sources["warns"].tolist() == [2, 0, 0]
    assert sources["fails"].tolist() == [0, 1, 0]
    assert sources.loc["S2", "lowest"] == 0.5
    assert np.isnan(sources.loc["S3", "lowest"])


def test_source_scores_does_not_change_the_report():
    before = repr(REPORT)
    source_scores(REPORT)
    assert repr(REPORT) == before


def test_scores_by_weighs_sources_by_records_over_those_measured(sources):
    by = scores_by(sources, "department")
    # A: validity (100 * 0.9 + 300 * 0.99) / 400; consistency only S2 measures it
    assert by.loc["A", "validity"] == pytest.approx((90 + 297) / 400)
    assert by.loc["A", "consistency"] == pytest.approx(1.0)
    assert by.loc["A", "accuracy"] == pytest.approx(0.99)
    # B: its only source failed, so nothing is measured
    assert by.loc["B", list(DIMENSIONS)].isna().all()


def test_scores_by_counts_sources_records_and_statuses(sources):
    by = scores_by(sources, "kind")
    assert by.loc["penalty", ["sources", "failed", "fail", "warn"]].tolist() == [2, 1, 1, 1]
    assert by.loc["penalty", "records_in"] == 150
    assert by.loc["penalty", "quarantined_share"] == pytest.approx(60 / 150)
    assert by.loc["licence", ["sources", "failed", "fail", "warn"]].tolist() == [1, 0, 1, 0]


def test_heatmap_groups_sources_by_kind_and_marks_warn_and_fail(sources):
    ax = plot_quality_heatmap(sources)
    try:
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == ["S1", "S3", "S2"]  # penalty first (first seen), then licence
        assert [t.get_text() for t in ax.get_xticklabels()] == list(DIMENSIONS)
        texts = [t.get_text() for t in ax.texts]
        assert texts.count("!") == 2  # S1 validity and uniqueness
        assert texts.count("×") == 1  # S2 timeliness
        assert "source failed to read" in texts
        assert {"penalty", "licence"} <= set(texts)
        image = ax.images[0].get_array()
        assert image.shape == (3, len(DIMENSIONS))
        assert image.mask[1].all()  # the failed source has no score
    finally:
        plt.close("all")
