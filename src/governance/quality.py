"""Data quality per source and dimension, and the report a data steward reads.

Dimensions (each a share in [0, 1], higher is better; None where it cannot be measured):
completeness (values present), validity (records breaking no rule), uniqueness (records not
duplicating another), consistency (records passing the kind's cross-field checks), timeliness
(records reaching the regulator within the cadence's allowed delay) and accuracy (keys whose
check characters hold, where the key has them). Thresholds in params mark each warn or fail.
"""

from __future__ import annotations

import html
from collections import Counter

import numpy as np

from riskdraw.config import IngestParams

from .ingest import SourceResult

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy")


def scores(result: SourceResult, params: IngestParams, cadence: str, has_checks: bool) -> dict:
    """The six dimensions of one source (None where not measurable)."""
    n = result.records_in
    if n == 0 or result.failed:
        return dict.fromkeys(DIMENSIONS)
    not_dup = result.rules.copy()
    not_dup.pop("duplicate_record", None)
    invalid = result.quarantined - result.duplicates
    allowed = params.timeliness_days.get(cadence, params.timeliness_days["default"])
    hist = np.asarray(result.lag_hist)
    return {
        "completeness": sum(result.filled.values()) / (n * max(result.fields, 1)),
        "validity": 1 - invalid / n,
        "uniqueness": 1 - result.duplicates / n,
        "consistency": (1 - result.check_failures / n) if has_checks else None,
        "timeliness": (float(hist[: allowed + 1].sum() / hist.sum()) if hist.sum() else None),
        "accuracy": (result.key_valid / result.key_present) if result.key_present else None,
    }


def status_of(value: float | None, params: IngestParams, dimension: str) -> str:
    if value is None:
        return "n/a"
    bounds = params.quality[dimension]
    if value < bounds.fail:
        return "fail"
    if value < bounds.warn:
        return "warn"
    return "ok"


def quality_report(
    results: list[SourceResult],
    params: IngestParams,
    cadence: dict[str, str],
    checks: dict[str, bool],
) -> dict:
    """The `reports/quality.json` payload: totals, then every source's counts and scores."""
    sources = []
    repairs: Counter = Counter()
    rules: Counter = Counter()
    for r in results:
        dims = scores(r, params, cadence[r.source_id], checks[r.kind])
        status = {d: status_of(v, params, d) for d, v in dims.items()}
        worst = (
            "fail"
            if r.failed or "fail" in status.values()
            else ("warn" if "warn" in status.values() else "ok")
        )
        sources.append(
            {
                "source_id": r.source_id,
                "kind": r.kind,
                "department": r.department,
                "records_in": r.records_in,
                "records_accepted": r.accepted,
                "records_quarantined": r.quarantined,
                "reconciles": r.records_in == r.accepted + r.quarantined,
                "error": r.error,
                "status": worst,
                "scores": {d: (None if v is None else round(v, 5)) for d, v in dims.items()},
                "dimension_status": status,
                "repairs": dict(sorted(r.repairs.items())),
                "rules": dict(sorted(r.rules.items())),
            }
        )
        repairs.update(r.repairs)
        rules.update(r.rules)
    records_in = sum(r.records_in for r in results)
    return {
        "records_in": records_in,
        "records_accepted": sum(r.accepted for r in results),
        "records_quarantined": sum(r.quarantined for r in results),
        "reconciles": all(s["reconciles"] for s in sources),
        "sources": len(results),
        "sources_failed": sum(r.failed for r in results),
        "failed": {r.source_id: r.error for r in results if r.failed},
        "sources_warn": sum(s["status"] == "warn" for s in sources),
        "sources_fail": sum(s["status"] == "fail" for s in sources),
        "repairs": dict(sorted(repairs.items())),
        "rules": dict(sorted(rules.items())),
        "per_source": sources,
    }


_COLOURS = {"ok": "#e6f4ea", "warn": "#fef7e0", "fail": "#fce8e6", "n/a": "#f1f3f4"}


def quality_html(report: dict) -> str:
    """A page a data steward can read: totals, failed sources, then a row per source."""

    def cell(value, status="n/a"):
        text = (
            "—"
            if value is None
            else (f"{value:.1%}" if isinstance(value, float) else html.escape(str(value)))
        )
        return f'<td style="background:{_COLOURS.get(status, "#fff")}">{text}</td>'

    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "source",
            "kind",
            "department",
            "records in",
            "accepted",
            "quarantined",
            "status",
            *DIMENSIONS,
        )
    )
    rows = []
    for s in report["per_source"]:
        dims = "".join(cell(s["scores"][d], s["dimension_status"][d]) for d in DIMENSIONS)
        rows.append(
            f"<tr>{cell(s['source_id'])}{cell(s['kind'])}{cell(s['department'])}"
            f"{cell(s['records_in'])}{cell(s['records_accepted'])}"
            f"{cell(s['records_quarantined'])}{cell(s['status'], s['status'])}{dims}</tr>"
        )
    failed = (
        "".join(
            f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
            for k, v in report["failed"].items()
        )
        or "<li>none</li>"
    )
    repairs = "".join(f"<li>{html.escape(k)}: {v:,}</li>" for k, v in report["repairs"].items())
    rules = "".join(f"<li>{html.escape(k)}: {v:,}</li>" for k, v in report["rules"].items())
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>riskdraw — data quality</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}} th{{background:#eee}}</style>
</head><body>
<h1>Data quality by source and dimension</h1>
<p>{report["sources"]} sources; {report["records_in"]:,} records in,
{report["records_accepted"]:,} accepted, {report["records_quarantined"]:,} quarantined
(reconciles: {report["reconciles"]}); {report["sources_failed"]} failed,
{report["sources_fail"]} below a fail threshold, {report["sources_warn"]} warn.</p>
<h2>Failed sources</h2><ul>{failed}</ul>
<h2>Safe repairs applied (counted, never silent)</h2><ul>{repairs}</ul>
<h2>Rules broken (records quarantined)</h2><ul>{rules}</ul>
<h2>Every source</h2><table><tr>{head}</tr>{"".join(rows)}</table>
</body></html>
"""
