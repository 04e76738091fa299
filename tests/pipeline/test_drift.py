"""Drift scenarios of the simulated city (`simulate.drift`, config) caught by the monitor's
source checks, each by the right source and change, and the rest of the city quiet.

One tiny city carries four changes from 2025-01-01 on, each in its own source: a bureau's
penalty fines under a new column name, a hotline's complaint categories renumbered, a bureau's
annual-report amounts in 10,000 yuan, and complaints doubled everywhere (risk unchanged). A
second city of another seed carries none. (A boom of new firms and a district's rise in
violations reach the model, not the sources: tests/pipeline/test_round.py.)
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from riskdraw.cli import app
from riskdraw.config import load_section
from riskdraw.monitoring.deliveries import delivery_checks, delivery_tables
from riskdraw.monitoring.verdict import verdict
from tests.conftest import PARAMS, TINY_ENTITIES

pytestmark = pytest.mark.slow

SINCE = "2025-01-01"
RENAMED, RENUMBERED, UNIT = "S027", "S033", "S012"
SCENARIOS = [
    {"kind": "renamed_field", "since": SINCE, "source": RENAMED, "field": "罚款金额",
     "to": "罚没金额"},
    {"kind": "renumbered_codes", "since": SINCE, "source": RENUMBERED, "field": "问题类别"},
    {"kind": "unit_change", "since": SINCE, "source": UNIT},
    {"kind": "complaints", "since": SINCE, "factor": 2.0},
]  # fmt: skip


def city(tmp, seed: int, drift: list[dict]) -> tuple[list, dict, pd.Series]:
    """A tiny city simulated and ingested by the commands: its source checks, the kind of each
    source, and the sources whose volume is judged (as many records a year before, on average,
    as `monitor.deliveries.min_records`)."""
    params = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    params["simulate"] |= {"entities": TINY_ENTITIES, "seed": seed, "drift": drift}
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    for args in (
        ["simulate", "--out", tmp / "raw", "--truth", tmp / "truth", "--report", tmp / "s.json",
         "--no-progress"],
        ["ingest", "--raw", tmp / "raw", "--out", tmp / "interim", "--report",
         tmp / "quality.json", "--page", tmp / "quality.html", "--no-progress", "--no-track"],
    ):  # fmt: skip
        done = CliRunner().invoke(app, [str(a) for a in [*args, "--params", path]])
        assert done.exit_code == 0, done.output
    settings = load_section("monitor", path).deliveries
    screening = pd.Timestamp(params["profile"]["screening_date"])
    summary, codes = delivery_tables(tmp / "interim", screening, settings)
    quality = json.loads((tmp / "quality.json").read_text(encoding="utf-8"))
    departments = {s["source_id"]: s["department"] for s in quality["per_source"]}
    kinds = {s["source_id"]: s["kind"] for s in quality["per_source"]}
    counts = summary.pivot_table(index="source_id", columns="window", values="records",
                                 aggfunc="sum", fill_value=0)  # fmt: skip
    before = counts[[w for w in counts.columns if w > 0]].mean(axis=1)
    judged = before[before >= settings.min_records]
    return delivery_checks(summary, codes, quality, departments, settings), kinds, judged


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    return city(tmp_path_factory.mktemp("drifted"), 20240117, SCENARIOS)


def failing(checks) -> dict[str, str]:
    return {c.subject: c.detail for c in checks if c.status == "fail"}


def test_a_renamed_column_is_named_with_its_new_name(drifted):
    detail = failing(drifted[0])[RENAMED]
    assert "罚没金额" in detail and "罚款金额" in detail and "renamed" in detail


def test_renumbered_codes_are_named_with_the_field(drifted):
    detail = failing(drifted[0])[RENUMBERED]
    assert "field category" in detail and "codes the earlier deliveries never used" in detail


def test_a_unit_change_is_named_with_its_field(drifted):
    detail = failing(drifted[0])[UNIT]
    ratio = float(re.search(r"median is ([0-9.e+-]+) times", detail).group(1))
    assert "a change of unit" in detail and 0.5e-4 < ratio < 2e-4  # yuan read where wan came


def test_complaints_doubled_are_caught_in_the_complaint_sources_and_nowhere_else(drifted):
    """Every complaint source large enough to judge is flagged for its volume, no other
    source is, and the sources without a scenario raise nothing: no false alarm among the
    city's other sources."""
    checks, kinds, judged = drifted
    flagged = failing(checks)
    volume = {s for s, d in flagged.items() if "times as many records" in d}
    assert volume == {s for s in judged.index if kinds[s] == "complaint"}, judged
    assert set(flagged) - volume <= {RENAMED, RENUMBERED, UNIT}
    ratios = [float(re.search(r"([0-9.]+) times as many", flagged[s]).group(1)) for s in volume]
    assert all(r >= 1.5 for r in ratios), ratios  # about twice as many


def test_the_verdict_is_to_investigate_the_sources_before_retraining(drifted):
    found = verdict(drifted[0])
    assert found["status"] == "fail" and found["recommendation"] == "investigate a source"
    assert "do not retrain" in found["why"]


def test_a_city_without_drift_raises_no_source_alarm(tmp_path):
    checks, _, judged = city(tmp_path, 7, [])
    assert len(judged) > 10  # sources large enough to judge
    assert failing(checks) == {}
    assert verdict(checks)["recommendation"] == "nothing to do"
