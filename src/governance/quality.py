"""Data quality per source and dimension, and the report a data steward reads.

Dimensions (each a share in [0, 1], higher is better; None where it cannot be measured):
completeness (values present), validity (records breaking no rule), uniqueness (records not
duplicating another), consistency (records passing the kind's cross-field checks), timeliness
(records reaching the regulator within the cadence's allowed delay) and accuracy (keys whose
check characters hold, where the key has them). Thresholds in params mark each warn or fail.

Failure tolerance is policy, not a count fitted to one city: the run goes on while the failed
sources are at most `ingest.max_failed_share` of all sources and none is of an essential kind
(`ingest.essential_kinds`, the kinds without which no enterprise file can be built); otherwise
it stops, naming them. The verdict heads the report and the page.
"""

from __future__ import annotations

import html
import math
from collections import Counter

import numpy as np

from riskdraw.config import ConfigError, IngestParams

from .ingest import SourceResult

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy")


def scores(result: SourceResult, params: IngestParams, cadence: str, has_checks: bool) -> dict:
    """The six dimensions of one source (None where not measurable)."""
    n = result.records_in
    if result.failed:
        return dict.fromkeys(DIMENSIONS)
    # Completeness counts the records too: values present in the records delivered, times
    # the share of the declared records that were delivered.
    delivered = min(n / result.declared, 1.0) if result.declared else None
    if n == 0:
        return dict.fromkeys(DIMENSIONS) | {"completeness": 0.0 if result.declared else None}
    not_dup = result.rules.copy()
    not_dup.pop("duplicate_record", None)
    invalid = result.quarantined - result.duplicates
    allowed = params.timeliness_days.get(cadence, params.timeliness_days["default"])
    hist = np.asarray(result.lag_hist)
    return {
        "completeness": sum(result.filled.values())
        / (n * max(result.fields, 1))
        * (1.0 if delivered is None else delivered),
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


def check_tolerance_policy(settings: IngestParams, kind_of_source: dict[str, str]) -> None:
    """Check that every essential kind is the kind of some source in the catalogue.

    A kind no source has is a typo or the wrong catalogue; either way the policy could not
    protect it. Call it once the catalogue is loaded, before ingesting anything.

    Args:
        settings: the `ingest` section.
        kind_of_source: every source of the catalogue -> its record kind.

    Raises:
        ConfigError: naming `ingest.essential_kinds`, the unknown kinds and the catalogue's.
    """
    known = set(kind_of_source.values())
    unknown = [k for k in settings.essential_kinds if k not in known]
    if unknown:
        raise ConfigError(
            f"ingest.essential_kinds: no source of the catalogue is of kind "
            f"{', '.join(map(repr, unknown))} (its kinds: {', '.join(sorted(known))})"
        )


def _allowed(share: float, total: int) -> int:
    """The most failed sources out of `total` whose share is at most `share` (a hair of
    tolerance, so that 0.05 of 100 is 5 whatever the float)."""
    return math.floor(share * total + 1e-9)


def tolerance(report: dict, kind_of_source: dict[str, str], settings: IngestParams) -> dict:
    """Whether the run goes on despite its failed sources, and why, in sentences naming them.

    Args:
        report: a quality report; only its `failed` (source id -> error) is read.
        kind_of_source: every source of the catalogue -> its record kind (the share's base).
        settings: the `ingest` section (`max_failed_share`, `essential_kinds`).

    Returns:
        A JSON-able verdict: `passed`, `status` ("ok": none failed, "tolerated": failures
        within the policy, "stopped"), `sources`, `sources_failed`, `failed_share`,
        `max_failed_share`, `max_failed` (that share as a count), `essential_failed` (source
        ids) and `reasons` (plain sentences).

    Raises:
        ConfigError: an essential kind that no source of the catalogue has.
        ValueError: a failed source that is not in the catalogue.
    """
    check_tolerance_policy(settings, kind_of_source)
    failed: dict[str, str] = report["failed"]
    stray = [s for s in failed if s not in kind_of_source]
    if stray:
        raise ValueError(f"failed sources not in the catalogue: {', '.join(stray)}")
    total = len(kind_of_source)
    share = len(failed) / total if total else 0.0
    allowed = _allowed(settings.max_failed_share, total)
    within = len(failed) <= allowed
    essential = [s for s in failed if kind_of_source[s] in settings.essential_kinds]
    head = (
        f"{len(failed)} of {total} sources failed ({share:.1%}), "
        f"{'within' if within else 'more than'} the {settings.max_failed_share:.1%} allowed "
        f"(at most {allowed})"
    )
    reasons = [head + (f": {', '.join(failed)}" if failed else "")]
    reasons += [
        f"source {s} of essential kind {kind_of_source[s]} failed: {failed[s]}" for s in essential
    ]
    passed = within and not essential
    return {
        "passed": passed,
        "status": "stopped" if not passed else ("tolerated" if failed else "ok"),
        "sources": total,
        "sources_failed": len(failed),
        "failed_share": round(share, 5),
        "max_failed_share": settings.max_failed_share,
        "max_failed": allowed,
        "essential_kinds": list(settings.essential_kinds),
        "essential_failed": essential,
        "reasons": reasons,
    }


def quality_report(
    results: list[SourceResult],
    params: IngestParams,
    cadence: dict[str, str],
    checks: dict[str, bool],
    findings: list[dict] | None = None,
) -> dict:
    """The `reports/quality.json` payload: the tolerance verdict and the failed sources first,
    then totals, the run's findings, then every source's counts, findings and scores.

    `results` are one per source of the catalogue (as `ingest_all` returns them): their kinds
    are the kind map the verdict (`tolerance`) is judged on. `findings` are the run's own (the
    manifest's, and sources it declares that the catalogue lacks), each {finding, detail,
    records}. Reconciliation, per source and in total: declared = accepted + quarantined +
    undelivered (records in = accepted + quarantined where nothing was declared). A source
    with a finding is at best `warn`.
    """
    findings = list(findings or [])
    sources = []
    repairs: Counter = Counter()
    rules: Counter = Counter()
    for r in results:
        dims = scores(r, params, cadence[r.source_id], checks[r.kind])
        status = {d: status_of(v, params, d) for d, v in dims.items()}
        worst = (
            "fail"
            if r.failed or "fail" in status.values()
            else ("warn" if "warn" in status.values() or r.findings else "ok")
        )
        sources.append(
            {
                "source_id": r.source_id,
                "kind": r.kind,
                "department": r.department,
                "records_declared": r.declared,
                "records_in": r.records_in,
                "records_accepted": r.accepted,
                "records_quarantined": r.quarantined,
                "records_undelivered": r.undelivered,
                "reconciles": r.reconciles,
                "error": r.error,
                "findings": r.findings,
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
    failed = {r.source_id: r.error for r in results if r.failed}
    verdict = tolerance({"failed": failed}, {r.source_id: r.kind for r in results}, params)
    not_catalogued = sum(
        f["records"] for f in findings if f["finding"] == "declared_source_not_in_catalogue"
    )
    declared = [r.declared for r in results if r.declared is not None]
    return {
        "tolerance": verdict,
        "failed": failed,
        "records_declared": sum(declared) + not_catalogued,
        "records_in": records_in,
        "records_accepted": sum(r.accepted for r in results),
        "records_quarantined": sum(r.quarantined for r in results),
        "records_undelivered": sum(r.undelivered for r in results),
        "records_not_catalogued": not_catalogued,
        "sources_undeclared": len(results) - len(declared),
        "reconciles": all(s["reconciles"] for s in sources),
        "findings": findings,
        "findings_by_kind": dict(
            sorted(
                Counter(
                    [f["finding"] for f in findings]
                    + [f["finding"] for r in results for f in r.findings]
                ).items()
            )
        ),
        "sources": len(results),
        "sources_failed": sum(r.failed for r in results),
        "sources_warn": sum(s["status"] == "warn" for s in sources),
        "sources_fail": sum(s["status"] == "fail" for s in sources),
        "repairs": dict(sorted(repairs.items())),
        "rules": dict(sorted(rules.items())),
        "per_source": sources,
    }


_COLOURS = {"ok": "#e6f4ea", "warn": "#fef7e0", "fail": "#fce8e6", "n/a": "#f1f3f4"}
# The verdict's banner: background and edge, red when the run stops, amber when it goes on
# without some sources, green when every source was read.
_BANNERS = {
    "stopped": ("#fce8e6", "#d93025"),
    "tolerated": ("#fef7e0", "#f9ab00"),
    "ok": ("#e6f4ea", "#188038"),
}


def _headline(verdict: dict) -> str:
    n = verdict["sources_failed"]
    if verdict["status"] == "stopped":
        return (
            "STOPPED: the run does not go on. Have the sources below re-delivered (or fixed) "
            "and run ingest again."
        )
    if verdict["status"] == "tolerated":
        return (
            f"Goes on without {n} failed source{'s' if n != 1 else ''}: their records are "
            "missing from this run until re-delivered."
        )
    return "Every source was read."


def _verdict_html(report: dict) -> str:
    """The banner (verdict and reasons) and the failed sources, the first thing on the page."""
    verdict = report["tolerance"]
    background, edge = _BANNERS[verdict["status"]]
    role = ' role="alert"' if verdict["status"] == "stopped" else ""
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict["reasons"])
    banner = (
        f'<div class="verdict {verdict["status"]}"{role} style="background:{background};'
        f'border:2px solid {edge};border-left-width:10px;padding:0.6em 1em;margin:1em 0">'
        f'<p style="font-size:1.2em;margin:0.2em 0"><b>{html.escape(_headline(verdict))}</b></p>'
        f"<ul>{reasons}</ul></div>"
    )
    by_id = {s["source_id"]: s for s in report["per_source"]}
    essential = set(verdict["essential_failed"])
    rows = []
    for source_id, error in report["failed"].items():
        s = by_id.get(source_id, {})
        mark = "essential: stops the run" if source_id in essential else ""
        rows.append(
            f'<tr class="failed-source" style="background:{_COLOURS["fail"]}">'
            f"<td><b>{html.escape(source_id)}</b></td>"
            f"<td>{html.escape(str(s.get('kind', '')))}</td>"
            f"<td>{html.escape(str(s.get('department', '')))}</td>"
            f"<td>{html.escape(mark)}</td>"
            f'<td style="text-align:left">{html.escape(str(error))}</td></tr>'
        )
    failed = (
        "<table><tr><th>source</th><th>kind</th><th>department</th><th>essential</th>"
        f"<th>error</th></tr>{''.join(rows)}</table>"
        if rows
        else "<p>none</p>"
    )
    return f'{banner}\n<h2 id="failed-sources">Failed sources</h2>{failed}'


def quality_html(report: dict) -> str:
    """A page a data steward can read: the verdict and the failed sources first, then the
    totals, repairs and rules, then a row per source."""

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
    found = [("(run)", f) for f in report.get("findings", [])] + [
        (s["source_id"], f) for s in report["per_source"] for f in s.get("findings", [])
    ]
    findings = (
        "<table><tr><th>source</th><th>finding</th><th>records</th><th>detail</th></tr>"
        + "".join(
            f'<tr class="finding"><td>{html.escape(source)}</td>'
            f"<td>{html.escape(f['finding'])}</td><td>{f['records']:,}</td>"
            f'<td style="text-align:left">{html.escape(f["detail"])}</td></tr>'
            for source, f in found
        )
        + "</table>"
        if found
        else "<p>none</p>"
    )
    repairs = "".join(f"<li>{html.escape(k)}: {v:,}</li>" for k, v in report["repairs"].items())
    rules = "".join(f"<li>{html.escape(k)}: {v:,}</li>" for k, v in report["rules"].items())
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>riskdraw — data quality</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}} th{{background:#eee}}</style>
</head><body>
<h1>Data quality by source and dimension</h1>
{_verdict_html(report)}
<h2 id="totals">Totals</h2>
<p>{report["sources"]} sources; {report.get("records_declared", 0):,} records declared
({report.get("sources_undeclared", 0)} sources declared nothing), {report["records_in"]:,} in,
{report["records_accepted"]:,} accepted, {report["records_quarantined"]:,} quarantined,
{report.get("records_undelivered", 0):,} undelivered,
{report.get("records_not_catalogued", 0):,} of sources not in the catalogue
(reconciles: {report["reconciles"]}); {report["sources_failed"]} failed,
{report["sources_fail"]} below a fail threshold, {report["sources_warn"]} warn.</p>
<h2 id="findings">Findings (what was delivered against what was declared and known)</h2>
{findings}
<h2>Safe repairs applied (counted, never silent)</h2><ul>{repairs}</ul>
<h2>Rules broken (records quarantined)</h2><ul>{rules}</ul>
<h2 id="every-source">Every source</h2><table><tr>{head}</tr>{"".join(rows)}</table>
</body></html>
"""
