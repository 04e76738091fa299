"""The notebooks run top to bottom on the tiny city's outputs, headless, as papermill runs them."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import papermill as pm
import pytest

from riskdraw.config import load_section
from riskdraw.governance.catalogue import dump_sources, load_kinds
from riskdraw.governance.quality import quality_report
from riskdraw.io import write_json
from riskdraw.simcity.catalogue import city_catalogue
from tests.conftest import PARAMS, ROOT, assert_committed_clean, run_notebook

NOTEBOOKS = ROOT / "notebooks"
KINDS = ROOT / "catalogue" / "kinds.yaml"
DATA_QUALITY = NOTEBOOKS / "02-data-quality.ipynb"


@dataclass(frozen=True)
class Reviewed:
    report: dict
    catalogue: Path
    interim: Path


@pytest.fixture(scope="module")
def ingested_city(tiny_city, tiny_ingest, tmp_path_factory) -> Reviewed:
    """The tiny city's quality report and sources file, built as `riskdraw ingest` builds them."""
    kinds = load_kinds(KINDS)
    catalogue = city_catalogue(tiny_city.params, kinds)
    catalogue_path = tmp_path_factory.mktemp("catalogue") / "sources.yaml"
    dump_sources(catalogue, catalogue_path)
    cadence = {s.source_id: s.cadence for s in catalogue.sources}
    checks = {k: bool(v.checks) for k, v in kinds.kinds.items()}
    report = quality_report(
        list(tiny_ingest.results.values()), load_section("ingest", PARAMS), cadence, checks
    )
    return Reviewed(report=report, catalogue=catalogue_path, interim=tiny_ingest.out)


def _review(city: Reviewed, report: dict, tmp_path: Path) -> list:
    """Run the data-quality notebook with papermill; return the executed cells."""
    write_json(tmp_path / "quality.json", report)
    return run_notebook(
        DATA_QUALITY,
        tmp_path,
        {
            "quality_report": str(tmp_path / "quality.json"),
            "interim": str(city.interim),
            "catalogue_path": str(city.catalogue),
            "kinds_path": str(KINDS),
        },
        timeout=120,
    )


def _text(cells) -> str:
    """All text the cells printed or displayed."""
    return "\n".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in cells
        for output in cell.get("outputs", [])
    )


def _mimes(cell) -> set[str]:
    return {mime for output in cell.get("outputs", []) for mime in output.get("data", {})}


@pytest.mark.slow
def test_data_quality_notebook_reviews_the_tiny_city(ingested_city, tmp_path):
    report = ingested_city.report
    cells = _review(ingested_city, report, tmp_path)

    heatmap = [c for c in cells if "plot_quality_heatmap(sources" in c.source]
    assert len(heatmap) == 1 and "image/png" in _mimes(heatmap[0])
    text = _text(cells)
    line = re.search(r"records in ([\d,]+) = accepted ([\d,]+) \+ quarantined ([\d,]+)", text)
    assert line, "the reconciliation line is missing"
    n_in, accepted, quarantined = (int(g.replace(",", "")) for g in line.groups())
    assert n_in == report["records_in"] == accepted + quarantined
    assert f"reconciles overall and for each of the {report['sources']} sources" in text
    drilled = max(report["per_source"], key=lambda s: s["records_quarantined"])["source_id"]
    assert f"drilling into {drilled}" in text


@pytest.mark.slow
def test_data_quality_notebook_stops_on_a_report_that_does_not_reconcile(ingested_city, tmp_path):
    broken = copy.deepcopy(ingested_city.report)
    first = broken["per_source"][0]
    first["records_accepted"] -= 1
    with pytest.raises(
        pm.PapermillExecutionError,
        match=rf"records in != accepted \+ quarantined for \['{first['source_id']}'\]",
    ):
        _review(ingested_city, broken, tmp_path)


def test_the_committed_notebook_has_no_outputs_and_a_parameters_cell():
    assert_committed_clean(DATA_QUALITY)
