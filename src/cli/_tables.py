"""What the commands print: rich tables of each stage's report (also `riskdraw summary`)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from ._common import console


def resolve_summary(reports: Path) -> None:
    r = json.loads((reports / "resolve.json").read_text(encoding="utf-8"))
    console.rule("[bold]one enterprise, one file (resolve)")
    methods = ", ".join(
        f"{k} {v:,}" for k, v in sorted(r["by_method"].items(), key=lambda kv: -kv[1])
    )
    console.print(
        f"entities [bold]{r['entities']:,}[/bold]; records linked {r['linked']:,} of "
        f"{r['records']:,} ({r['linked'] / max(r['records'], 1):.2%}); conflicts kept "
        f"{r['conflicts']:,}\nby method: {methods}"
    )
    if (reports / "resolution.json").exists():
        q = json.loads((reports / "resolution.json").read_text(encoding="utf-8"))
        console.print(
            f"against the simulated truth: precision [bold]{q['precision']:.4f}[/bold], "
            f"recall [bold]{q['recall']:.4f}[/bold]"
        )


def profile_summary(p: dict) -> None:
    console.rule("[bold]the enterprise profile")
    console.print(
        f"{p['rows']:,} rows x [bold]{p['attributes']}[/bold] attributes in {p['families']} "
        f"families (list: reports/attributes.md), built in {p['seconds']:.0f} s"
    )
    table = Table("as of", "snapshot", "task", "enterprises", "inspected", "hit rate")
    for s in p["snapshots"]:
        table.add_row(
            s["as_of_date"],
            s["snapshot"],
            s["task"] or "",
            f"{s['rows']:,}",
            f"{s['inspected']:,}",
            f"{s['hit_rate']:.1%}" if s["hit_rate"] is not None else "",
        )
    console.print(table)


def selection_summary(s: dict, truth: dict | None = None) -> None:
    """select's report; with `truth` (evaluate-selection's report) the drivers recovered."""
    console.rule("[bold]the 12 factors (select)")
    console.print(
        f"chosen from {s['attributes']} attributes on {s['rows']:,} inspections in rounds "
        f"{s['rounds'][0]} to {s['rounds'][-1]} (the last round held out)"
    )
    table = Table("factor", "IV", "risk", "shuffled", "rounds", caption=(
        "shuffled: log-loss rise on left-out rounds when the factor is shuffled in a model of "
        "the 12; rounds: share of those rounds where it rises"
    ))  # fmt: skip
    table.columns[0].no_wrap = True
    for d in s["details"]:
        table.add_row(
            d["name"],
            f"{d['iv']:.3f}",
            "raises" if d["direction"] == "raises risk" else "lowers",
            f"{d['loss_rise']:+.4f}",
            f"{d['rounds_adding']:.0%}",
        )
    console.print(table)
    methods = Table("method", "AUC (LightGBM)", "AUC (logistic)", "top-share hit rate", "random")
    for name, m in s["methods"].items():
        methods.add_row(
            name,
            *(
                f"{m[k]:.3f}" if m[k] is not None else ""
                for k in ("val_auc_lightgbm", "val_auc_logistic")
            ),
            f"{m['val_hit_rate_top']:.1%}",
            f"{m['val_hit_rate_random']:.1%}",
        )
    console.print(methods)
    if truth is not None:
        console.print(
            f"true drivers recovered (simulated city): [bold]{truth['true_drivers_recovered']} "
            f"of {truth['true_drivers']}[/bold]; missed: {', '.join(truth['missed']) or 'none'}"
        )
    from riskdraw.tracking import experiment_name

    console.print(f"the comparison in MLflow: `make ui`, experiment {experiment_name('select')}")


def failed_sources(q: dict) -> None:
    """ingest's tolerance verdict and every failed source with its error."""
    verdict = q.get("tolerance", {})
    colour = {"ok": "green", "tolerated": "yellow", "stopped": "red"}.get(verdict.get("status"))
    for reason in verdict.get("reasons", []):  # data in them is text, never markup
        console.print(reason, style=colour, markup=False)
    for source_id, error in q["failed"].items():
        console.print(f"  failed {source_id}: {error}", style="red", markup=False)


def quality_summary(q: dict, failures: bool = True) -> None:
    """ingest's report: failed sources and the tolerance verdict first (unless shown
    already), then the totals, rules and repairs."""
    console.rule("[bold]governed data (ingest)")
    if failures:
        failed_sources(q)
    if "records_declared" in q:
        console.print(
            f"records declared [bold]{q['records_declared']:,}[/bold] = accepted "
            f"{q['records_accepted']:,} + quarantined {q['records_quarantined']:,} + "
            f"undelivered {q['records_undelivered']:,} + of sources not in the catalogue "
            f"{q['records_not_catalogued']:,} ({q['sources_undeclared']} sources declared "
            f"nothing; reconciles: {q['reconciles']})"
        )
    console.print(
        f"records in [bold]{q['records_in']:,}[/bold] = accepted "
        f"{q['records_accepted']:,} + quarantined {q['records_quarantined']:,} "
        f"(reconciles: {q['reconciles']})"
    )
    if q.get("findings_by_kind"):
        findings = Table("finding", "sources or entries", title="findings (see the page)")
        for finding, count in q["findings_by_kind"].items():
            findings.add_row(finding, f"{count:,}")
        console.print(findings)
    console.print(
        f"sources {q['sources']}: failed {q['sources_failed']}, below a fail "
        f"threshold {q['sources_fail']}, warn {q['sources_warn']}"
    )
    rules = Table("rule broken", "entries", title="quarantine entries by rule")
    for rule, count in sorted(q["rules"].items(), key=lambda kv: -kv[1]):
        rules.add_row(rule, f"{count:,}")
    repairs = Table("safe repair", "values", title="repaired (counted)")
    for repair, count in sorted(q["repairs"].items(), key=lambda kv: -kv[1]):
        repairs.add_row(repair, f"{count:,}")
    console.print(rules)
    console.print(repairs)
    console.print("per source and dimension: reports/quality.html")


def comparison_table(title: str, compared: dict) -> None:
    table = Table(
        "model", "hit rate at capacity", "AUC", "PR-AUC", "Brier", "log-loss", title=title
    )
    for name, m in compared.items():
        table.add_row(
            name,
            f"{m['val_hit_rate_at_capacity']:.1%}",
            *(
                f"{m.get(k, float('nan')):.3f}"
                for k in ("val_auc", "val_pr_auc", "val_brier", "val_log_loss")
            ),
        )
    console.print(table)


def evaluation_summary(m: dict) -> None:
    from riskdraw.domain.risk import RISK_CLASSES

    console.rule(f"[bold]the model on the held-out round {m['round']} (evaluate)")
    truth = "expected_hit_rate_oracle" in m  # simulated city: the truth's expected rates too
    table = Table("", "hit rate", "inspections", "enterprises", caption=(
        "hit rate: found by the round's draw among those enterprises"
        + ("; expected: mean true probability (simulated truth)" if truth else "")
    ))  # fmt: skip
    if truth:
        table.add_column("expected")

    def pct(value) -> str:
        return "" if value is None else f"{value:.1%}"

    def row(name, rate, n, size, expected=None) -> None:
        table.add_row(name, pct(rate), n, size, *([pct(expected)] if truth else []))

    row(
        "random draw",
        m["hit_rate_random"],
        f"{m['inspections']:,}",
        f"{m['enterprises']:,}",
        m.get("expected_hit_rate_random"),
    )
    row(
        f"model, top {m['capacity']:.1%}",
        m["hit_rate_model"],
        f"{m['model_picks_inspected']:,}",
        "",
        m.get("expected_hit_rate_model"),
    )
    if truth:
        row("oracle, same number", None, "", "", m["expected_hit_rate_oracle"])
    for c in RISK_CLASSES:
        row(
            f"class {c}",
            m["hit_rate_by_class"][c],
            f"{m['inspections_by_class'][c]:,}",
            f"{m['class_sizes'][c]:,}",
            m.get("expected_hit_rate_by_class", {}).get(c),
        )
    ratios = ", ".join(f"{c} {r:.0%}" for c, r in m["plan_ratios"].items())
    row(f"plan ({ratios})", m["hit_rate_plan"], "", "", m.get("expected_hit_rate_plan"))
    if truth:
        row("plan on the oracle's classes", None, "", "", m["expected_hit_rate_plan_oracle"])
    console.print(table)
    auc = "n/a (one outcome only)" if m["auc"] is None else f"{m['auc']:.3f}"
    line = f"compliant-inspection reduction {m['compliant_reduction']:.1%}"
    if "oracle_ratio" in m:
        line += (
            f" (expected {m['expected_compliant_reduction']:.1%}, with the oracle's classes "
            f"{m['expected_compliant_reduction_oracle']:.1%})"
        )
    line += f"; AUC {auc}; calibration error {m['calibration_error']:.3f}"
    if "oracle_ratio" in m:
        line += f"; oracle ratio {m['oracle_ratio']:.3f} (full {m['oracle_ratio_full']:.3f})"
    console.print(line)
    if "days_earlier" in m:
        tops = ", ".join(f"top {k} {v:.1%}" for k, v in m["top_share_hit_rates"].items())
        console.print(
            f"the round's work re-ordered by the model: problems found {m['days_earlier']:.2f} "
            f"days earlier; first half {m['first_half_share']:.4f} (as done "
            f"{m['first_half_share_business_as_usual']:.4f}); {tops}"
        )
    gates = ", ".join(f"{g} {'pass' if ok else 'FAIL'}" for g, ok in m["gates"].items())
    verdict = "promoted to champion" if m["promoted"] else "not promoted"
    console.print(f"gates: {gates} -> version {m['model_version']} {verdict}")


def chicago_table(r: dict) -> None:
    console.rule(f"[bold]Chicago, test period {r['test_period'][0]}..{r['test_period'][1]}")
    shares = list(r["city_with_inspector"]["top_share_hit_rates"])
    table = Table(
        "", "days earlier", "first half", "AUC", *(f"top {s}" for s in shares),
        caption="the test period's work re-ordered by score; first half: share of the critical "
        "violations found in the first half of the inspections (as done: "
        f"{r['reproduced_first_half_share_business_as_usual']:.4f})",
    )  # fmt: skip
    pub = r["published"]
    table.add_row("city, published", f"{pub['days_earlier']:.2f}",
                  f"{pub['first_half_share']:.4f}", "", *[""] * len(shares))  # fmt: skip
    for key, name in [
        ("city_with_inspector", "city model re-fitted, with inspector"),
        ("riskdraw_with_inspector", "riskdraw, with inspector"),
        ("city_without_inspector", "city model re-fitted, without inspector"),
        ("riskdraw_without_inspector", "riskdraw, without inspector"),
    ]:
        m = r[key]
        table.add_row(
            name, f"{m['days_earlier']:.2f}", f"{m['first_half_share']:.4f}", f"{m['auc']:.3f}",
            *(f"{v:.1%}" for v in m["top_share_hit_rates"].values()),
        )  # fmt: skip
    console.print(table)
    verdict = "reproduced" if r["reproduced"] else "[red]NOT reproduced[/red]"
    console.print(
        f"the city's evaluation: {verdict}; riskdraw's factors: {', '.join(r['factors'])}"
    )


def city_check_table(r: dict) -> None:
    """`city check`'s report: each table's rows, the rounds, the attributes, the issues."""
    from rich.markup import escape

    console.rule(f"[bold]city {r['city']}: its tables")
    table = Table("table", "rows", "accepted", "refused", "left out",
                  caption="refused: broke a rule (quarantine.csv says which); left out: by the "
                  "city's own `keep` or `not_counted`")  # fmt: skip
    for name, c in r["tables"].items():
        table.add_row(name, f"{c['rows']:,}", f"{c['accepted']:,}", f"{c['refused']:,}",
                      f"{c['left_out']:,}")  # fmt: skip
    console.print(table)
    if r["refused_by_rule"]:
        console.print("rows by rule: " + "; ".join(
            f"{escape(k)} {v:,}" for k, v in r["refused_by_rule"].items()))  # fmt: skip
    rounds = Table("round", "as of", "inspections", "hit rate")
    for x in r["rounds"]:
        rate = "" if x["hit_rate"] is None else f"{x['hit_rate']:.1%}"
        rounds.add_row(x["round"], x["as_of_date"], f"{x['inspections']:,}", rate)
    console.print(rounds)
    attrs = ", ".join(f"{k} {v}" for k, v in r["attributes"].items())
    entities = "no registry" if r["entities"] is None else f"{r['entities']:,} enterprises"
    console.print(f"{entities}; events: " + ", ".join(f"{k} {v:,}" for k, v in r["events"].items()))
    console.print(f"attributes the profile derives, by kind: {attrs or '(none: fix the errors)'}")
    plan = "yes" if r["can_plan"] else "no (no inspector pool or screening date)"
    console.print(f"screening: {'yes' if r['can_screen'] else 'no'}; plan: {plan}")
    for issue in r["issues"]:
        colour = "red" if issue["level"] == "error" else "yellow"
        console.print(f"[{colour}]{issue['level']}[/{colour}] {escape(issue['message'])}")
    if r["status"] == "ok":
        console.print("[green]check passed[/green]: the flow can start")


def screen_summary(r: dict) -> None:
    """screen's report: the classes, their enterprises and expected problems."""
    console.rule(f"[bold]the city screened ({r['screening_date']})")
    console.print(
        f"{r['enterprises']:,} open enterprises scored by {r['model_name']} version "
        f"{r['model_version']}; {r['explained']:,} explained; expected problems "
        f"{r['expected_problems']:,.0f} (a uniform draw would find "
        f"{r['expected_hit_rate_random']:.1%})"
    )
    table = Table("class", "enterprises", "share", "expected problems", "mean probability")
    for c, v in r["by_class"].items():
        mean = v["mean_probability"]
        table.add_row(
            c,
            f"{v['enterprises']:,}",
            f"{v['share']:.1%}",
            f"{v['expected_problems']:,.0f}",
            "" if mean is None else f"{mean:.1%}",
        )
    console.print(table)


def plan_summary(r: dict) -> None:
    """plan's report: the visits per class, what they are expected to find, the commitment."""
    console.rule(f"[bold]the next round's plan ({r['policy']}, {r['capacity']:,} visits)")
    outside = ", ".join(f"{k} {v:,}" for k, v in r["visits_outside_draw"].items()) or "none"
    console.print(
        f"{r['visits']:,} visits drawn among {r['enterprises']:,} open enterprises (outside the "
        f"draw: {outside}; cooled off: {r['cooled_off']:,}); expected hit rate "
        f"[bold]{r['expected_hit_rate']:.1%}[/bold] against {r['expected_hit_rate_random']:.1%} "
        f"for a uniform draw, compliant-inspection reduction "
        f"[bold]{r['expected_compliant_reduction']:.1%}[/bold]; class A visited "
        f"{r['low_risk_visited_share']:.2%}"
    )
    table = Table(
        "class", "enterprises", "expected visits", "drawn", "mean inclusion", "expected hit rate"
    )
    for c, v in r["by_class"].items():
        mean, hit = v["inclusion_probability_mean"], v["expected_hit_rate"]
        table.add_row(
            c,
            f"{v['enterprises']:,}",
            f"{v['expected_visits']:,.1f}",
            f"{v['drawn']:,}",
            "" if mean is None else f"{mean:.2%}",
            "" if hit is None else f"{hit:.1%}",
        )
    console.print(table)
    staff = r["inspectors"]
    console.print(
        f"inspectors: {staff['used']:,} of {staff['accepted']:,} in the pool drawn "
        f"({staff['quarantined']:,} pool rows quarantined), at most {staff['workload_max']} "
        f"visits each; {staff['visits_from_other_districts']:,} visits staffed from another "
        "district"
    )
    lists = r.get("checklists")
    if lists:
        o = lists["overall"]
        console.print(
            f"fused checklists (一表通行): {o['fused_visits']:,} visits do the work of "
            f"{o['single_domain_visits']:,} single-domain visits; items {o['items_before']:,} -> "
            f"{o['items_after']:,}, hours {o['hours_before']:,.0f} -> {o['hours_after']:,.0f}"
        )
        table = Table(
            "industry",
            "visits",
            "domains each",
            "items before -> after (median)",
            "hours before -> after (median)",
            title="the five most visited industries",
        )
        for g in lists["by_industry"][:5]:
            table.add_row(
                f"{g['industry_code']} {g['industry']}", f"{g['visits']:,}",
                f"{g['domains_per_visit']:.1f}",
                f"{g['items_before_median']:.0f} -> {g['items_after_median']:.0f}",
                f"{g['hours_before_median']:.1f} -> {g['hours_after_median']:.1f}",
            )  # fmt: skip
        console.print(table)
    console.print(
        f"commitment to publish: [bold]{r['draw']['commitment']}[/bold]; public value "
        f"{r['draw']['public_value']!r}"
    )


def plan_truth_summary(t: dict) -> None:
    """evaluate-plan's report: the plan against the simulated truth."""
    picks = t["picks_at_capacity"]
    console.print(
        f"against the simulated truth: the plan's expected hit rate "
        f"[bold]{t['expected_hit_rate_plan']:.1%}[/bold] (a uniform draw "
        f"{t['expected_hit_rate_random']:.1%}; reduction "
        f"{t['expected_compliant_reduction_plan']:.1%}), plan oracle ratio "
        f"[bold]{t['plan_oracle_ratio']:.3f}[/bold]; the model's {picks['picks']:,} picks at "
        f"capacity {picks['expected_hit_rate']:.1%} (reduction "
        f"{picks['expected_compliant_reduction']:.1%}, oracle ratio {picks['oracle_ratio']:.3f})"
    )
    table = Table(
        "policy", "expected hit rate", "on the best knowable", "plan oracle ratio",
        "compliant reduction",
    )  # fmt: skip
    for policy, v in t["by_policy"].items():
        table.add_row(
            policy,
            f"{v['expected_hit_rate']:.1%}",
            f"{v['expected_hit_rate_oracle']:.1%}",
            f"{v['plan_oracle_ratio']:.3f}",
            f"{v['expected_compliant_reduction']:.1%}",
        )
    console.print(table)


def results_summary(r: dict) -> None:
    """record-results' report: rows accepted and refused (by rule), visits reported, hits."""
    console.rule(f"[bold]the results of {r['task']}")
    colour = "green" if r["reconciles"] else "red"
    console.print(
        f"{r['rows_in']:,} rows: {r['accepted']:,} accepted, {r['quarantined']:,} quarantined "
        f"([{colour}]reconciles: {r['reconciles']}[/{colour}]); {r['visits_reported']:,} of "
        f"{r['visits_planned']:,} planned visits reported, {r['visits_unreported']:,} without a "
        f"result; {r['problems']:,} problems found"
        + (f" (hit rate [bold]{r['hit_rate']:.1%}[/bold])" if r["hit_rate"] is not None else "")
    )
    if r["quarantined_by_rule"]:
        table = Table("rule", "rows refused", title="refused rows (quarantine.csv has each one)")
        for rule, n in r["quarantined_by_rule"].items():
            table.add_row(rule, f"{n:,}")
        console.print(table)
    table = Table("class", "visits", "problems", "hit rate", title="found, by risk class")
    for c, v in r["by_class"].items():
        table.add_row(c, f"{v['visits']:,}", f"{v['problems']:,}", f"{v['hit_rate']:.1%}")
    console.print(table)


def publication_summary(r: dict) -> None:
    """publish's report: results published, late and overdue, the commitment revealed."""
    console.print(
        f"published {r['published']:,} results of {r['task']} on {r['published_on']} "
        f"({r['problems']:,} with a problem); {r['published_late']:,} more than "
        f"{r['within_days']} days after their inspection, {r['overdue']:,} overdue and not yet "
        f"published, {r['visits_without_result']:,} planned visits without a result; the draw's "
        f"secret revealed for commitment {r['commitment']}"
    )
