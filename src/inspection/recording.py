"""A round's results recorded against its plan, and delivered as the next ingest's source.

The bureaus send back one row per visit: the enterprise (credit code and name), the round's
task, the inspection date, the inspectors, the items checked and failed on the visit's fused
checklist, the result, and the day it was recorded. Every row is accepted or quarantined with
its reasons (source, row, field, rule, value, reason); the counts reconcile. Rules, each by
name:

- every column present; `credit_code` a valid code (GB 32100); `task` the plan's;
- `not_drawn`: the enterprise is not among the plan's visits;
- `before_plan`: the inspection is dated before the plan's date (its screening date);
- `inspector_not_assigned`: an inspector the plan did not assign to this visit;
- dates that do not parse (any of the departments' styles is read), a record dated before its
  inspection or after the day the results are recorded; `items_checked` and `items_failed`
  whole numbers with failed <= checked; `result` one of the published results, and a result
  that found a problem with no failed item (or the reverse) refused as `result_items_disagree`;
- `reported_twice`: a second result for a visit (the first recorded is kept).

The accepted results carry what the plan knew of each visit (entity_id, status, inclusion
probability, risk class, the inspecting unit) and become a delivery in the inspection kind's
format (`delivery/`: the extract, `manifest.json` and `sources.yaml`, one source), which the
next `riskdraw ingest --delivery` reads like any department's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskdraw.domain.inspections import CLEAN_RESULTS, PROBLEM_RESULTS
from riskdraw.errors import DATA, USAGE, UserError

RESULT_COLUMNS = [
    "credit_code", "name", "task", "inspected_on", "inspectors", "items_checked",
    "items_failed", "result", "recorded_on",
]  # fmt: skip
"""The columns of a results file, in order."""
QUARANTINE_COLUMNS = ["source", "row", "field", "rule", "value", "reason"]
FOUND = PROBLEM_RESULTS[:2]  # found and ordered corrected, found and pending
"""Results that name failed items (the others find a problem no checklist item records)."""
NEEDS_NO_ITEMS = PROBLEM_RESULTS[2:]  # unreachable, refused the inspection
INSPECTION_COLUMNS = {
    "name": "企业名称", "credit_code": "统一社会信用代码", "task": "抽查任务编号",
    "inspected_on": "抽查日期", "result": "检查结果", "inspectors": "检查人员执法证号",
    "inclusion_probability": "入选概率", "unit": "实施机关", "recorded_on": "公示日期",
}  # fmt: skip
"""The accepted results' columns as the inspection kind names them (catalogue/kinds.yaml)."""


class ResultsError(UserError):
    """A results file that cannot be recorded at all (exit status 3; 2 for a missing file)."""

    exit_code = DATA


@dataclass(frozen=True)
class Recorded:
    """A round's recorded results.

    Attributes:
        accepted: one row per visit reported, with the plan's figures of the visit.
        quarantine: one row per broken rule of a refused row (`QUARANTINE_COLUMNS`).
        unreported: the plan's visits no accepted row reports (entity_id, credit_code, name).
        rows_in: rows read.
    """

    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    unreported: pd.DataFrame
    rows_in: int


def read_results(path: Path | str) -> pd.DataFrame:
    """A bureau's results file (CSV, UTF-8), every value as text, with its `row` (0-based).

    Raises:
        ResultsError: no such file (exit 2), unreadable, or a column missing.
    """
    from riskdraw.io import read_text_csv

    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"results {path} not found", USAGE)
    raw = read_text_csv(path, RESULT_COLUMNS, ResultsError, "results")
    return raw.apply(lambda s: s.str.strip()).assign(row=np.arange(len(raw)))


def _dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dates in any of the departments' styles: (datetime64[D] values, rule or None)."""
    from riskdraw.governance.values import parse_dates

    parsed = parse_dates(values.where(values != "", None), latest=None)
    return np.asarray(parsed.values, dtype="datetime64[D]"), parsed.rule


def _whole(values: pd.Series) -> np.ndarray:
    """Whole numbers >= 0 (-1 where the text is not one)."""
    ok = values.str.fullmatch(r"[0-9]{1,6}").to_numpy(dtype=bool)
    out = np.full(len(values), -1)
    out[ok] = values[ok].astype(int).to_numpy()
    return out


def check_results(
    rows: pd.DataFrame,
    visits: pd.DataFrame,
    task: str,
    plan_date: pd.Timestamp,
    recorded_by: pd.Timestamp,
    source: str,
) -> Recorded:
    """Each result row accepted or quarantined with its reasons, against the plan.

    Args:
        rows: `read_results`' rows.
        visits: the plan's visits (entity_id, credit_code, name, status,
            inclusion_probability, risk_class, inspectors and inspector_units as lists).
        task: the plan's task id.
        plan_date: the plan's date (its screening date): no inspection before it.
        recorded_by: the day the results are recorded: no date after it.
        source: the results file, named in the quarantine.
    """
    from riskdraw.domain.codes import valid_uscc_mask

    rows = rows.reset_index(drop=True)
    by_code = visits.set_index("credit_code")
    faults: list[pd.DataFrame] = []

    def refuse(mask, field: str, rule: str, reason) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            hit = rows[mask]
            why = reason(hit) if callable(reason) else [reason] * int(mask.sum())
            faults.append(pd.DataFrame({"row": hit["row"].to_numpy(), "field": field,
                                        "rule": rule, "value": hit[field].to_numpy(),
                                        "reason": list(why)}))  # fmt: skip

    code = rows["credit_code"]
    valid = valid_uscc_mask(code)
    refuse(~valid, "credit_code", "credit_code_invalid", "not a valid credit code (GB 32100)")
    drawn = code.isin(by_code.index).to_numpy()
    refuse(valid & ~drawn, "credit_code", "not_drawn",
           lambda h: [f"{c} ({n}) is not among the plan's visits: it was not drawn"
                      for c, n in zip(h["credit_code"], h["name"], strict=True)])  # fmt: skip
    refuse(rows["task"] != task, "task", "other_task", f"not the plan's task {task}")
    inspected, rule = _dates(rows["inspected_on"])
    refuse(pd.notna(rule), "inspected_on", "date_unparseable", "not a date")
    refuse(np.isnat(inspected) & pd.isna(rule), "inspected_on", "missing", "no date")
    day = plan_date.to_datetime64().astype("datetime64[D]")
    refuse(~np.isnat(inspected) & (inspected < day), "inspected_on", "before_plan",
           f"before the plan's date {plan_date.date()}")  # fmt: skip
    recorded, rule = _dates(rows["recorded_on"])
    bad_record = pd.notna(rule) | np.isnat(recorded)
    refuse(bad_record, "recorded_on", "date_unparseable", "not a date")
    ok = ~bad_record & ~np.isnat(inspected)
    refuse(ok & (recorded < inspected), "recorded_on", "recorded_before_inspection",
           "recorded before the inspection")  # fmt: skip
    limit = recorded_by.to_datetime64().astype("datetime64[D]")
    refuse(~bad_record & (recorded > limit), "recorded_on", "after_recording",
           f"after the day the results are recorded ({recorded_by.date()})")  # fmt: skip
    team = rows["inspectors"].str.split(";").map(lambda v: [x.strip() for x in v if x.strip()])
    assigned = [set(map(str, by_code.at[c, "inspectors"])) if d else set()
                for c, d in zip(code, drawn, strict=True)]  # fmt: skip
    stray = [sorted(set(t) - a) for t, a in zip(team, assigned, strict=True)]
    refuse(np.array([bool(s) for s in stray], dtype=bool) & drawn, "inspectors",
           "inspector_not_assigned",
           lambda h: [f"inspector {', '.join(stray[i])} was not assigned to this visit"
                      for i in h.index])  # fmt: skip
    refuse(team.map(len).to_numpy() == 0, "inspectors", "missing", "no inspector")
    checked, failed = _whole(rows["items_checked"]), _whole(rows["items_failed"])
    refuse(checked < 0, "items_checked", "whole_number", "not a whole number >= 0")
    refuse(failed < 0, "items_failed", "whole_number", "not a whole number >= 0")
    refuse((failed > checked) & (checked >= 0), "items_failed", "more_than_checked",
           "more items failed than checked")  # fmt: skip
    known = rows["result"].isin(PROBLEM_RESULTS + CLEAN_RESULTS).to_numpy()
    refuse(~known, "result", "unknown_result", "not one of the published results")
    found = rows["result"].isin(FOUND).to_numpy()
    silent = rows["result"].isin(NEEDS_NO_ITEMS).to_numpy()
    refuse(
        known & (failed >= 0) & ((found & (failed == 0)) | (~found & ~silent & (failed > 0))),
        "result",
        "result_items_disagree",
        "a result that finds a problem names a failed item, and one that finds none none",
    )
    bad = set().union(*(set(f["row"]) for f in faults)) if faults else set()
    fine = rows[~rows["row"].isin(bad)].assign(_recorded=recorded[~rows["row"].isin(bad)])
    again = fine.sort_values(["_recorded", "row"]).duplicated("credit_code")
    twice = rows["row"].isin(set(fine.loc[again[again].index, "row"])).to_numpy()
    refuse(twice, "credit_code", "reported_twice", "a second result for this visit")
    quarantine = (pd.concat(faults, ignore_index=True) if faults
                  else pd.DataFrame(columns=QUARANTINE_COLUMNS[1:]))  # fmt: skip
    quarantine = quarantine.assign(source=source)[QUARANTINE_COLUMNS].sort_values(
        ["row", "field"], ignore_index=True
    )
    keep = ~rows["row"].isin(set(quarantine["row"])).to_numpy()
    accepted = _accepted(rows[keep], inspected[keep], recorded[keep], checked[keep],
                         failed[keep], by_code)  # fmt: skip
    missing = ~visits["credit_code"].isin(accepted["credit_code"])
    unreported = visits.loc[missing, ["entity_id", "credit_code", "name"]].reset_index(drop=True)
    return Recorded(accepted, quarantine, unreported, len(rows))


def _accepted(rows, inspected, recorded, checked, failed, by_code) -> pd.DataFrame:
    """The accepted rows, typed, with the plan's figures of each visit."""
    plan = by_code.loc[rows["credit_code"]]
    units = plan["inspector_units"].map(lambda u: "; ".join(map(str, u)))
    return pd.DataFrame(
        {
            "entity_id": plan["entity_id"].to_numpy(),
            "credit_code": rows["credit_code"].to_numpy(),
            "name": plan["name"].to_numpy(),
            "task": rows["task"].to_numpy(),
            "inspected_on": pd.to_datetime(inspected),
            "recorded_on": pd.to_datetime(recorded),
            "inspectors": rows["inspectors"].to_numpy(),
            "unit": units.to_numpy(),
            "items_checked": checked,
            "items_failed": failed,
            "result": rows["result"].to_numpy(),
            "problem": rows["result"].isin(PROBLEM_RESULTS).to_numpy(),
            "status": plan["status"].to_numpy(),
            "risk_class": plan["risk_class"].to_numpy(),
            "inclusion_probability": plan["inclusion_probability"].to_numpy(dtype=float),
            "row": rows["row"].to_numpy(),
        }
    ).sort_values(["inspected_on", "credit_code"], ignore_index=True)


def delivery(accepted: pd.DataFrame, task: str, department: str) -> tuple[pd.DataFrame, dict, dict]:
    """The accepted results as one more inspection source: (the extract in the inspection
    kind's columns, its manifest, its sources file), for the next `ingest --delivery`."""
    # A source id as every source's (S and digits): S9 and the task's digits, one per round.
    source_id = "S9" + "".join(c for c in task if c.isdigit())
    extract = accepted.assign(
        inspected_on=accepted["inspected_on"].dt.strftime("%Y-%m-%d"),
        recorded_on=accepted["recorded_on"].dt.strftime("%Y-%m-%d"),
        inclusion_probability=accepted["inclusion_probability"].map(repr),
    )[list(INSPECTION_COLUMNS)].rename(columns=INSPECTION_COLUMNS)
    file = f"{source_id}-inspection/extract.csv"
    delivered = accepted["recorded_on"].max()
    manifest = {"sources": [{
        "source_id": source_id, "records": len(extract),
        "delivered_on": None if pd.isna(delivered) else delivered.strftime("%Y-%m-%d"),
    }]}  # fmt: skip
    sources = {
        "city": "results",
        "version": 1,
        "sources": [
            {
                "source_id": source_id, "department": department, "level": "city",
                "kind": "inspection", "licence_domain": None, "format": "csv",
                "encoding": "utf-8", "key": "credit_code", "date_style": "iso",
                "amount_unit": "yuan", "file": file, "owner": "riskdraw record-results",
                "cadence": "per round",
            }
        ],
    }  # fmt: skip
    return extract, manifest, sources


def violation_rate(accepted: pd.DataFrame) -> dict:
    """The share of enterprises breaking the rules among those the plan could visit (open,
    not cooled off), estimated from the round's results: each result weighted by the inverse of
    its recorded inclusion probability (a visit outside the draw stands for itself), Hajek's
    ratio estimator, its standard error (Poisson-sampling variance) and a 95% interval
    (Wilson's, with Kish's effective sample size: a plan's few low-risk visits at the floor
    carry much of the estimate, and the interval stays as wide as what they can tell); beside
    it the plain share of the visits, which a risk-targeted draw biases upward."""
    from riskdraw.training.metrics import (
        effective_size,
        ht_mean,
        ht_standard_error,
        weighted_wilson_interval,
    )

    y = accepted["problem"].to_numpy(dtype=float)
    pi = accepted["inclusion_probability"].to_numpy(dtype=float)
    if not len(y):
        return {"estimate": None, "standard_error": None, "ci95": None, "plain_share": None}
    return {
        "estimate": ht_mean(y, pi),
        "standard_error": ht_standard_error(y, pi),
        "ci95": list(weighted_wilson_interval(y, pi)),
        "effective_size": effective_size(pi),
        "plain_share": float(y.mean()),
        "results": len(y),
    }


def results_report(recorded: Recorded, visits: pd.DataFrame) -> dict:
    """Rows in, accepted and quarantined (by rule), visits planned and reported, the hit rate
    found by class and by status, and the violation rate it estimates (`violation_rate`)."""
    acc = recorded.accepted
    by_rule = recorded.quarantine.groupby("rule")["row"].nunique().sort_values(ascending=False)
    refused = int(recorded.quarantine["row"].nunique())
    by_class = {
        c: {"visits": len(g), "problems": int(g["problem"].sum()),
            "hit_rate": float(g["problem"].mean())}
        for c, g in acc.groupby("risk_class")
    }  # fmt: skip
    by_status = {
        s: {"visits": len(g), "hit_rate": float(g["problem"].mean())}
        for s, g in acc.groupby("status")
    }
    return {
        "rows_in": recorded.rows_in,
        "accepted": len(acc),
        "quarantined": refused,
        "reconciles": recorded.rows_in == len(acc) + refused,
        "quarantined_by_rule": {k: int(v) for k, v in by_rule.items()},
        "visits_planned": len(visits),
        "visits_reported": len(acc),
        "visits_unreported": len(recorded.unreported),
        "problems": int(acc["problem"].sum()),
        "hit_rate": float(acc["problem"].mean()) if len(acc) else None,
        "by_class": by_class,
        "by_status": by_status,
        "items_checked": int(acc["items_checked"].sum()),
        "items_failed": int(acc["items_failed"].sum()),
        "violation_rate": violation_rate(acc),
    }


def write_delivery(folder: Path, extract: pd.DataFrame, manifest: dict, sources: dict) -> None:
    """Write a delivery folder: the extract, manifest.json and sources.yaml."""
    import yaml

    from riskdraw.io import write_csv

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / sources["sources"][0]["file"]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(extract, path, index=False, encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                          encoding="utf-8")  # fmt: skip
    (folder / "sources.yaml").write_text(
        "# One more source: a round's results, recorded by `riskdraw record-results`.\n"
        + yaml.safe_dump(sources, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
