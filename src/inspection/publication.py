"""A plan's files, and their verification from what is published.

`inclusion.csv` is the draw's whole record: every open enterprise with its class, probability,
ranking score, status (drawn, not drawn, cool-off, outside the draw and why) and inclusion
probability, written the same way on every machine (floats in their shortest exact form, in
entity_id order). `plan.json` records how it was made: the policy's params, the scores file's
hash, the commitment and the public value. `verify_plan` re-creates `inclusion.csv` from the
scores, those params, the revealed secret and the public value, and compares the bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from riskdraw.io import write_csv, write_json
from riskdraw.outputs import signature, staged_folder, write_completion

from .draw import check_secret, derive_seed
from .inspectors import Staffing, assign, assignments_bytes, load_domains, read_pool
from .planning import COOL_OFF, INCLUSION_COLUMNS, OUTSIDE, Plan, make_plan

INCLUSION_FILE, VISITS_FILE, PLAN_FILE = "inclusion.csv", "visits", "plan.json"
ASSIGNMENTS_FILE, WORKLOAD_FILE = "assignments.csv", "workload.csv"
METHOD = (
    "systematic sampling of the inclusion probabilities laid end to end in the order of "
    "SHA-256(seed, entity_id), from the point SHA-256(seed, start) (riskdraw.inspection.draw)"
)


def inclusion_bytes(inclusion: pd.DataFrame) -> bytes:
    """`inclusion.csv` exactly: UTF-8 without a byte order mark, "\\n" line ends, rows in
    entity_id order, floats in their shortest form that reads back exactly (Arrow's)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.Table.from_pandas(inclusion[INCLUSION_COLUMNS], preserve_index=False)
    table = table.take(pc.sort_indices(table, [("entity_id", "ascending")]))
    text = pa.table({c: pc.cast(table[c], pa.string()) for c in INCLUSION_COLUMNS})
    return _csv_bytes(text)


def _csv_bytes(table) -> bytes:
    """A table of text (Arrow) as CSV bytes with "\\n" line ends, unquoted; where a label or
    value is missing or needs quoting (a plan's never do), as pandas writes it instead."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    def quoted(values) -> bool:
        return bool(pc.any(pc.match_substring_regex(values, '[,"\n\r]')).as_py())

    labels = pa.array(table.column_names, type=pa.string())
    if quoted(labels) or any(table[c].null_count or quoted(table[c]) for c in table.column_names):
        return table.to_pandas().to_csv(index=False, lineterminator="\n").encode("utf-8")
    sink = pa.BufferOutputStream()
    options = pcsv.WriteOptions(include_header=False, quoting_style="none")
    pcsv.write_csv(table, sink, options)
    return (",".join(table.column_names) + "\n").encode("utf-8") + sink.getvalue().to_pybytes()


def draw_record(
    settings, scores: pd.DataFrame, scores_digest: str, committed: str, pool_digest: str
) -> dict:
    """What a draw's verification needs besides the secret: params, scores and pool hashes,
    commitment, public value, method."""
    return {
        "params": settings.model_dump(mode="json"),
        "scores": scores_digest,
        "pool": pool_digest,
        "enterprises": len(scores),
        "commitment": committed,
        "public_value": settings.public_value,
        "method": METHOD,
    }


def with_inspectors(plan: Plan, staffing: Staffing) -> Plan:
    """The plan's visits with their inspectors, units and domains."""
    from dataclasses import replace

    staff = staffing.assignments.drop(columns=["excluded"])
    staff = staff.rename(columns={"units": "inspector_units"})
    return replace(plan, visits=plan.visits.merge(staff, on="entity_id", how="left",
                                                  validate="one_to_one"))  # fmt: skip


def write_plan(
    plan: Plan,
    staffing: Staffing,
    report: dict,
    out: Path,
    inputs: dict[str, Path],
    pool_quarantine: pd.DataFrame | None = None,
    checklists: pd.DataFrame | None = None,
) -> None:
    """The plan folder, written whole beside `out` and swapped in: inclusion.csv,
    assignments.csv, workload.csv, visits.parquet and visits.csv (lists joined by "; "),
    pool-quarantine.csv (the pool's refused rows with their reasons), checklists.csv (each
    visit's fused checklist, `checklists.checklists_table`), plan.json, the completion
    manifest."""
    with staged_folder(out, inputs) as work:
        if pool_quarantine is not None:
            write_csv(pool_quarantine, work / "pool-quarantine.csv", index=False)
        if checklists is not None:
            flat = checklists.assign(domains=checklists["domains"].map("; ".join))
            write_csv(flat, work / "checklists.csv", index=False)
        (work / INCLUSION_FILE).write_bytes(inclusion_bytes(plan.inclusion))
        (work / ASSIGNMENTS_FILE).write_bytes(assignments_bytes(staffing.assignments))
        write_csv(staffing.workload, work / WORKLOAD_FILE, index=False)
        visits = plan.visits
        visits.to_parquet(work / f"{VISITS_FILE}.parquet", index=False)
        flat = visits.drop(columns=["reason_factors", "reason_contributions"], errors="ignore")
        lists = [c for c in ("reasons", "reasons_zh", "inspectors", "inspector_units", "domains")
                 if c in flat.columns]  # fmt: skip
        flat = flat.assign(**{c: flat[c].map("; ".join) for c in lists})
        write_csv(flat, work / f"{VISITS_FILE}.csv", index=False)
        write_json(work / PLAN_FILE, report)
        counts = {"visits": report["visits"], "enterprises": report["enterprises"]}
        write_completion(work, "plan", inputs, report["draw"]["params"], counts)


def verify_plan(
    folder: Path,
    scores: Path,
    secret: str,
    public_value: str | None = None,
    pool: Path | None = None,
    domains: Path | None = None,
) -> list[str]:
    """Re-run a published draw; the differences found (none: identical byte for byte).

    Args:
        folder: the published plan folder (plan.json, inclusion.csv, assignments.csv).
        scores: the scores file the plan says it was drawn from.
        secret: the revealed secret.
        public_value: the public value (default: the one plan.json records).
        pool, domains: the inspector pool and the domains catalogue: with them the inspectors'
            draw is re-run too (assignments.csv), from the visits' domains and exclusions it
            records.
    """
    from riskdraw.config import PlanParams

    folder, scores = Path(folder), Path(scores)
    problems: list[str] = []
    try:
        record = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))["draw"]
        published = (folder / INCLUSION_FILE).read_bytes()
    except (OSError, ValueError, KeyError) as error:
        return [f"{folder}: not a published plan ({type(error).__name__}: {error})"]
    if not check_secret(secret, record["commitment"]):
        problems.append(
            f"the secret is not the one committed to: SHA-256 of it is not {record['commitment']}"
        )
    value = record["public_value"] if public_value is None else public_value
    if value != record["public_value"]:
        problems.append(f"public value {value!r} is not the plan's {record['public_value']!r}")
    digest = signature(scores)
    if digest != record["scores"]:
        problems.append(f"{scores} is not the scores file the plan was drawn from (SHA-256 "
                        f"{digest} against {record['scores']})")  # fmt: skip
        return problems
    frame = pd.read_parquet(scores)
    table = pd.read_csv(folder / INCLUSION_FILE, dtype={"entity_id": str, "status": str})
    status = table.set_index("entity_id")["status"]
    outside = {
        kind: set(status.index[status == OUTSIDE + kind])
        for kind in record["params"]["outside_draw"]
    }
    cooled = set(status.index[status == COOL_OFF])
    settings = PlanParams.model_validate(record["params"])
    seed = derive_seed(secret, value)
    plan = make_plan(frame, settings, seed, outside, cooled)
    again = inclusion_bytes(plan.inclusion)
    if again != published:
        problems.append(_difference(published, again))
    elif pool is not None:  # the inspectors' draw, of the same visits
        problems += _verify_assignments(folder, plan, record, settings, seed, pool, domains)
    return problems


def _verify_assignments(folder, plan, record, settings, seed, pool, domains) -> list[str]:
    """The inspectors' draw re-run from the pool and the visits' recorded domains and
    exclusions; the differences found."""
    if signature(pool) != record["pool"]:
        return [f"{pool} is not the inspector pool the plan was staffed from"]
    published = (folder / ASSIGNMENTS_FILE).read_bytes()
    table = pd.read_csv(folder / ASSIGNMENTS_FILE, dtype=str, keep_default_na=False)
    split = {c: table[c].map(lambda v: frozenset(p for p in v.split(";") if p))
             for c in ("domains", "excluded")}  # fmt: skip
    accepted, _ = read_pool(pool, load_domains(domains))
    visits = plan.visits.set_index("entity_id").loc[table["entity_id"]].reset_index()
    staffing = assign(
        visits, accepted, pd.Series(split["domains"].to_numpy(), index=visits.index),
        dict(zip(table["entity_id"], split["excluded"], strict=True)), seed,
        settings.inspectors_per_visit, settings.max_visits_per_inspector,
    )  # fmt: skip
    again = assignments_bytes(staffing.assignments)
    if again != published:
        return ["assignments.csv differs from the re-run inspectors' draw: "
                + _difference(published, again).split(": ", 1)[1]]  # fmt: skip
    return []


def _difference(published: bytes, again: bytes) -> str:
    """Which enterprises' lines differ between the published inclusion.csv and the re-run."""
    import io

    a = pd.read_csv(io.BytesIO(published), dtype=str).set_index("entity_id")
    b = pd.read_csv(io.BytesIO(again), dtype=str).set_index("entity_id")
    only_a, only_b = sorted(set(a.index) - set(b.index)), sorted(set(b.index) - set(a.index))
    both = a.index.intersection(b.index)
    columns = [c for c in a.columns if c in b.columns]
    unequal = a.loc[both, columns].ne(b.loc[both, columns])
    changed = list(unequal[unequal].stack().index[:5])  # (entity_id, column) pairs
    parts = []
    if only_a:
        parts.append(f"enterprises published but not re-drawn: {only_a[:5]}")
    if only_b:
        parts.append(f"enterprises re-drawn but not published: {only_b[:5]}")
    if changed:
        parts.append(
            "differing values: "
            + "; ".join(
                f"{i} {c}: published {a.at[i, c]!r}, re-run {b.at[i, c]!r}" for i, c in changed
            )
        )
    if not parts:
        parts.append("the files differ in their bytes (line order, formatting or line ends)")
    return "inclusion.csv differs from the re-run: " + "; ".join(parts)
