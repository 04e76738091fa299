"""Failure tolerance as policy: a share of all sources, and no essential kind may fail."""

from __future__ import annotations

import pytest

from riskdraw.config import ConfigError, load_section
from riskdraw.governance.ingest import SourceResult
from riskdraw.governance.quality import quality_html, quality_report, tolerance
from tests.conftest import PARAMS

# A city of 142 sources, as the default one: 5 registries, the rest event sources.
CITY = {f"reg-{i}": "registration" for i in range(5)} | {
    f"pen-{i:03d}": "penalty" for i in range(137)
}
CUT = "pen-007.csv: the file ends mid-record at byte 8,191 (record 312 of the extract)"


def settings(share: float = 0.05, essential: list[str] | None = None):
    return load_section(
        "ingest", PARAMS, max_failed_share=share, essential_kinds=essential or ["registration"]
    )


def report_with(failed: list[str]) -> dict:
    return {"failed": {s: f"{s}: {CUT}" for s in failed}}


def test_two_broken_sources_of_142_go_on_within_the_share():
    verdict = tolerance(report_with(["pen-007", "pen-100"]), CITY, settings())
    assert verdict["passed"] and verdict["status"] == "tolerated"
    assert verdict["failed_share"] == pytest.approx(2 / 142, abs=1e-5)
    assert verdict["max_failed_share"] == 0.05 and verdict["essential_failed"] == []
    assert verdict["reasons"] == [
        "2 of 142 sources failed (1.4%), within the 5.0% allowed (at most 7): pen-007, pen-100"
    ]


def test_no_failure_passes_plainly():
    verdict = tolerance(report_with([]), CITY, settings())
    assert verdict["passed"] and verdict["status"] == "ok"
    assert verdict["reasons"] == [
        "0 of 142 sources failed (0.0%), within the 5.0% allowed (at most 7)"
    ]


def test_a_failed_registration_source_stops_naming_it_and_its_error():
    verdict = tolerance(report_with(["reg-3"]), CITY, settings())
    assert not verdict["passed"] and verdict["status"] == "stopped"
    assert verdict["essential_failed"] == ["reg-3"]
    assert verdict["reasons"][1] == (
        f"source reg-3 of essential kind registration failed: reg-3: {CUT}"
    )
    assert "within the 5.0% allowed" in verdict["reasons"][0]  # the share alone would go on


def test_too_many_failed_sources_stop_naming_every_one():
    failed = [f"pen-{i:03d}" for i in range(8)]
    verdict = tolerance(report_with(failed), CITY, settings())
    assert not verdict["passed"] and verdict["status"] == "stopped"
    assert verdict["essential_failed"] == []
    (reason,) = verdict["reasons"]
    assert reason.startswith("8 of 142 sources failed (5.6%), more than the 5.0% allowed")
    assert all(s in reason for s in failed)


@pytest.mark.parametrize(
    ("share", "failed", "passed"),
    [(0.05, 7, True), (0.05, 8, False), (0.0, 0, True), (0.0, 1, False), (0.29, 41, True)],
)
def test_the_share_is_a_bound_of_all_sources_inclusive(share, failed, passed):
    verdict = tolerance(report_with([f"pen-{i:03d}" for i in range(failed)]), CITY, settings(share))
    assert verdict["passed"] is passed
    assert verdict["max_failed"] == int(share * 142 + 1e-9)


def test_an_essential_kind_no_source_has_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"ingest\.essential_kinds: .*'registraton'.*penalty"):
        tolerance(report_with([]), CITY, settings(essential=["registraton"]))


def test_a_failed_source_outside_the_catalogue_is_an_error():
    with pytest.raises(ValueError, match="not in the catalogue: elsewhere-1"):
        tolerance(report_with(["elsewhere-1"]), CITY, settings())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_failed_share": 1.0}, r"ingest\.max_failed_share: Input should be less than 1"),
        ({"max_failed_share": -0.1}, r"ingest\.max_failed_share: Input should be greater"),
        ({"essential_kinds": []}, r"ingest\.essential_kinds: List should have at least 1"),
        ({"essential_kinds": "registration"}, r"ingest\.essential_kinds: Input should be a"),
        ({"essential_kinds": [" "]}, r"essential_kinds has a blank kind"),
        ({"essential_kinds": ["registration"] * 2}, r"essential_kinds names a kind twice"),
        ({"max_failed_sources": 1}, r"ingest\.max_failed_sources: Extra inputs are not"),
    ],
)
def test_bad_policy_values_are_rejected_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_section("ingest", PARAMS, **overrides)


def results_with(failed: dict[str, str]) -> list[SourceResult]:
    return [
        SourceResult(source_id=s, kind=k, department="佛山市市场监督管理局", error=failed.get(s))
        for s, k in CITY.items()
    ]


def report_of(failed: dict[str, str]) -> dict:
    return quality_report(
        results_with(failed),
        settings(),
        dict.fromkeys(CITY, "daily"),
        {"registration": True, "penalty": False},
    )


def test_the_report_opens_with_the_verdict_and_the_failed_sources():
    report = report_of({"pen-007": CUT, "pen-100": "bad GBK bytes"})
    assert list(report)[:2] == ["tolerance", "failed"]
    assert report["tolerance"]["passed"] and report["tolerance"]["sources"] == 142
    assert report["failed"] == {"pen-007": CUT, "pen-100": "bad GBK bytes"}
    assert report["sources_failed"] == 2


def _order(page: str, *marks: str) -> list[int]:
    return [page.index(m) for m in marks]


def test_the_page_shows_a_red_banner_and_the_failures_before_totals_and_tables():
    page = quality_html(report_of({"reg-3": "registry <extract> cut", "pen-100": CUT}))
    at = _order(
        page,
        'class="verdict stopped"',
        "STOPPED",
        "source reg-3 of essential kind registration failed",
        'id="failed-sources"',
        "<b>reg-3</b>",
        "essential: stops the run",
        "<b>pen-100</b>",
        'id="totals"',
        "142 sources;",
        'id="every-source"',
    )
    assert at == sorted(at)
    assert "#d93025" in page[: page.index('id="totals"')]  # red
    assert "registry &lt;extract&gt; cut" in page and "<extract>" not in page


def test_the_page_shows_an_amber_banner_when_failures_are_tolerated():
    page = quality_html(report_of({"pen-007": CUT}))
    at = _order(
        page,
        'class="verdict tolerated"',
        "Goes on without 1 failed source:",
        "<b>pen-007</b>",
        'id="totals"',
    )
    assert at == sorted(at)
    assert "#f9ab00" in page and "#d93025" not in page and 'role="alert"' not in page


def test_the_page_says_so_when_every_source_was_read():
    page = quality_html(report_of({}))
    assert 'class="verdict ok"' in page and "Every source was read." in page
    assert page.index("<p>none</p>") < page.index('id="totals"')
