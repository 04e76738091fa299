"""The plan's parts on inline data: allocation, the draw, commitments and the audit chain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdraw.domain.risk import RISK_CLASSES, risk_class
from riskdraw.inspection import audit
from riskdraw.inspection.allocation import (
    PRESETS,
    PlanError,
    by_ratios,
    frontier,
    optimal,
    resolve_ratios,
)
from riskdraw.inspection.draw import check_secret, commitment, derive_seed, draw, new_secret
from tests.conftest import ROOT

CUTOFFS = {"B": 0.1, "C": 0.3, "D": 0.6}


def city(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Enterprises with a ranking score, a probability rising with it, and classes."""
    rng = np.random.default_rng(seed)
    rank = rng.normal(size=n)
    probability = 1 / (1 + np.exp(-(2 * rank - 1.5)))
    return pd.DataFrame(
        {
            "entity_id": [f"E{i:08d}" for i in range(n)],
            "rank_score": rank,
            "probability": probability,
            "risk_class": risk_class(probability, CUTOFFS),
        }
    )


# --- allocation ---------------------------------------------------------------------------


def test_presets_by_name_and_custom_ratios_are_checked():
    assert resolve_ratios("provincial-1-2-10-30") == {"A": 0.01, "B": 0.02, "C": 0.1, "D": 0.3}
    assert resolve_ratios("city-5-15-30-50")["D"] == 0.5
    assert resolve_ratios({"A": 0, "B": 0.1, "C": 0.2, "D": 1}) == {
        "A": 0.0, "B": 0.1, "C": 0.2, "D": 1.0
    }  # fmt: skip
    with pytest.raises(PlanError, match="unknown ratio preset 'nope'"):
        resolve_ratios("nope")
    with pytest.raises(PlanError, match=r"unknown risk class \['E'\]"):
        resolve_ratios({"A": 0.1, "B": 0.1, "C": 0.1, "D": 0.1, "E": 0.1})
    with pytest.raises(PlanError, match=r"ratio of class C is 1\.5"):
        resolve_ratios({"A": 0.1, "B": 0.1, "C": 1.5, "D": 0.1})
    with pytest.raises(PlanError, match=r"no ratio for class \['D'\]"):
        resolve_ratios({"A": 0.1, "B": 0.1, "C": 0.1})


def test_ratios_give_each_class_its_ratio_and_scale_down_to_the_capacity():
    c = city()
    ratios = PRESETS["city-5-15-30-50"]
    plan = by_ratios(c["risk_class"].to_numpy(), ratios, capacity=None)
    for k in RISK_CLASSES:
        assert np.allclose(plan.inclusion[c["risk_class"] == k], ratios[k])
    asked = plan.inclusion.sum()
    scaled = by_ratios(c["risk_class"].to_numpy(), ratios, capacity=asked / 2)
    assert scaled.scale == pytest.approx(0.5)
    assert scaled.inclusion.sum() == pytest.approx(asked / 2)
    with pytest.raises(PlanError, match=r"unknown risk class \['X'\]"):
        by_ratios(np.array(["A", "X"]), ratios, None)


@given(
    capacity=st.floats(0.02, 0.5),
    floor_share=st.floats(0.0, 0.9),
    cap=st.floats(0.5, 0.99),
    seed=st.integers(0, 1000),
)
@settings(max_examples=60, deadline=None)
def test_optimal_holds_floor_cap_capacity_and_never_falls_as_risk_rises(
    capacity, floor_share, cap, seed
):
    c = city(500, seed)
    n = len(c)
    total = capacity * n
    floor = max(1e-4, floor_share * total / n)
    plan = optimal(c["rank_score"].to_numpy(), total, floor, cap)
    pi = plan.inclusion
    assert pi.sum() == pytest.approx(total)
    assert pi.min() >= floor - 1e-12 and pi.max() <= cap + 1e-12
    by_rank = pi[np.argsort(c["rank_score"].to_numpy())]
    assert (np.diff(by_rank) >= -1e-12).all()


def test_enterprises_tied_in_rank_share_alike():
    rank = np.array([3.0, 2.0, 2.0, 2.0, 1.0, 0.0])
    pi = optimal(rank, capacity=2.0, floor=0.1, cap=0.9).inclusion
    assert pi[0] == pytest.approx(0.9)
    assert pi[1] == pytest.approx(pi[2]) == pytest.approx(pi[3])
    assert pi.sum() == pytest.approx(2.0) and pi[5] == pytest.approx(0.1)


@given(
    ratios=st.lists(st.floats(0.001, 0.6), min_size=4, max_size=4).map(sorted),
    seed=st.integers(0, 1000),
)
@settings(max_examples=60, deadline=None)
def test_optimal_finds_at_least_the_expected_problems_of_any_ratio_plan(ratios, seed):
    """At the same capacity and floor (the lowest ratio), for any ratios rising with the class."""
    c = city(800, seed)
    preset = dict(zip(RISK_CLASSES, ratios, strict=True))
    plan = by_ratios(c["risk_class"].to_numpy(), preset, capacity=None)
    best = optimal(c["rank_score"].to_numpy(), plan.inclusion.sum(), min(ratios), 0.95)
    p = c["probability"].to_numpy()
    assert best.expected(p)["expected_problems"] >= plan.expected(p)["expected_problems"] - 1e-9


def test_infeasible_floors_and_caps_are_named():
    rank = np.arange(100.0)
    with pytest.raises(PlanError, match=r"asks 20\.0 visits, above the capacity of 10\.0"):
        optimal(rank, 10, 0.2, 0.9)
    with pytest.raises(PlanError, match=r"reaches 50\.0 visits, below the capacity"):
        optimal(rank, 60, 0.01, 0.5)
    with pytest.raises(PlanError, match="0 < floor <= cap < 1"):
        optimal(rank, 10, 0.01, 1.0)
    with pytest.raises(PlanError, match="0 < floor <= cap < 1"):
        optimal(rank, 10, 0.0, 0.5)


def test_the_frontier_trades_hit_rate_for_the_floor():
    c = city()
    table = frontier(
        c["rank_score"].to_numpy(), c["probability"].to_numpy(), 100.0,
        [0.001, 0.01, 0.03, 0.06], 0.95, float(c["probability"].mean()),
        (c["risk_class"] == "A").to_numpy(),
    )  # fmt: skip
    assert list(table["floor"]) == [0.001, 0.01, 0.03]  # 0.06 x 2,000 > 100: infeasible, left out
    assert table["expected_hit_rate"].is_monotonic_decreasing
    assert table["low_risk_visited_share"].is_monotonic_increasing
    assert (table["compliant_reduction"] < table["expected_hit_rate"]).all()


# --- the draw -----------------------------------------------------------------------------


def test_each_enterprise_is_drawn_with_its_inclusion_probability():
    """Statistical: over 4,000 seeds each enterprise's share of draws lies within 4.5 standard
    errors of its probability, and each draw takes floor or ceil of the sum."""
    rng = np.random.default_rng(3)
    pi = np.r_[rng.uniform(0, 1, 46), 0.0, 1.0, 0.5, 0.5]
    ids = np.array([f"E{i:03d}" for i in range(len(pi))])
    counts = np.zeros(len(pi))
    sizes = set()
    for s in range(4_000):
        taken = draw(ids, pi, f"seed-{s}")
        counts += taken
        sizes.add(int(taken.sum()))
    share = counts / 4_000
    se = np.sqrt(np.maximum(pi * (1 - pi), 1e-12) / 4_000)
    assert (np.abs(share - pi) <= 4.5 * se + 1e-12).all()
    assert share[46] == 0 and share[47] == 1
    assert sizes <= {int(np.floor(pi.sum())), int(np.ceil(pi.sum()))}


def test_ratios_hold_in_expectation_over_draws():
    c = city(3_000, 1)
    preset = PRESETS["provincial-1-2-10-30"]
    pi = by_ratios(c["risk_class"].to_numpy(), preset, None).inclusion
    drawn = np.zeros(len(c))
    for s in range(300):
        drawn += draw(c["entity_id"].to_numpy(), pi, f"round-{s}")
    for k in RISK_CLASSES:
        here = (c["risk_class"] == k).to_numpy()
        rate = drawn[here].sum() / (300 * here.sum())
        se = np.sqrt(preset[k] * (1 - preset[k]) / (300 * here.sum()))
        assert abs(rate - preset[k]) <= 4.5 * se, k


def test_a_draw_depends_on_the_seed_and_the_ids_not_on_the_row_order():
    c = city(1_000, 2)
    pi = optimal(c["rank_score"].to_numpy(), 80, 0.01, 0.9).inclusion
    ids = c["entity_id"].to_numpy()
    first = draw(ids, pi, "s")
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = draw(ids[order], pi[order], "s")
    assert (shuffled == first[order]).all()
    assert (draw(ids, pi, "s") == first).all()
    assert (draw(ids, pi, "t") != first).any()
    with pytest.raises(ValueError, match="ids repeat"):
        draw(np.array(["E1", "E1"]), np.array([0.5, 0.5]), "s")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        draw(np.array(["E1", "E2"]), np.array([0.5, 1.5]), "s")


def test_the_seed_needs_the_committed_secret_and_the_public_value():
    secret = new_secret()
    assert len(secret) == 64 and secret != new_secret()
    committed = commitment(secret)
    assert check_secret(secret, committed)
    assert not check_secret(new_secret(), committed)
    assert derive_seed(secret, "583") != derive_seed(secret, "584")
    assert derive_seed(secret, "583") == derive_seed(secret, "583")


# --- the audit chain ------------------------------------------------------------------------


def test_the_audit_chain_detects_edits_deletions_and_cuts(tmp_path):
    path = tmp_path / "audit.jsonl"
    for i in range(4):
        audit.append(path, "screen", model_version=str(i), enterprises=10 * i)
    found = audit.verify(audit.read(path))
    assert found.ok and found.entries == 4
    head = found.head
    lines = path.read_text(encoding="utf-8").splitlines()

    edited = json.loads(lines[1])
    edited["enterprises"] = 999
    path.write_text("\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n")
    problems = audit.verify(audit.read(path)).problems
    assert problems == ["entry 2 (screen): edited (its hash does not match)"]
    with pytest.raises(audit.AuditError, match="broken chain"):
        audit.append(path, "plan")

    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n")  # entry 2 deleted
    problems = audit.verify(audit.read(path)).problems
    assert any("does not follow" in p for p in problems)

    path.write_text("\n".join(lines[:3]) + "\n")  # the last entry cut off
    assert audit.verify(audit.read(path)).ok  # the chain itself cannot tell...
    assert "entries removed" in audit.verify(audit.read(path), head).problems[0]  # ...the head can

    path.write_text("not json\n")
    with pytest.raises(audit.AuditError, match="line 1 is not JSON"):
        audit.read(path)


# --- a plan, published and verified ----------------------------------------------------------


def plan_settings(**changes):
    from riskdraw.config import PlanParams

    values = {
        "capacity": {"share": 0.05}, "policy": "optimal", "ratios": "provincial-1-2-10-30",
        "floor": 0.005, "cap": 0.95, "outside_draw": {"complaint": 60}, "cool_off_days": 180,
        "inspectors_per_visit": 2, "max_visits_per_inspector": 40,
        "frontier_floors": [0.001, 0.005, 0.01], "public_value": "583", "task": "FSSJ-2025-08",
    }  # fmt: skip
    return PlanParams.model_validate(values | changes)


DOMAINS = ROOT / "catalogue" / "domains.yaml"


def pool_csv(path, n: int = 40, **columns) -> Path:
    """An inspector pool of `n` inspectors over two districts, all qualified in everything."""
    from riskdraw.inspection.inspectors import load_domains

    every = ";".join(load_domains(DOMAINS))
    frame = pd.DataFrame(
        {
            "inspector_id": [f"4406{i:05d}" for i in range(n)],
            "unit": [f"unit {i % 2}" for i in range(n)],
            "district_code": ["440604" if i % 2 else "440605" for i in range(n)],
            "qualifications": every,
            "available_visits": "40",
            "conflicts": "",
        }
    )
    frame = frame.assign(**columns)
    frame.to_csv(path, index=False)
    return path


def drawn_plan(tmp_path, **changes):
    """A plan of a 2,000-enterprise city, staffed, written as `riskdraw plan` writes it."""
    from riskdraw.inspection.inspectors import assign, load_domains, read_pool, visit_domains
    from riskdraw.inspection.planning import make_plan
    from riskdraw.inspection.publication import draw_record, with_inspectors, write_plan
    from riskdraw.outputs import signature

    n = 2_000
    c = city().assign(
        as_of_date=pd.Timestamp("2025-06-30"), reasons=[[]] * n, reasons_zh=[[]] * n,
        credit_code=[f"C{i:017d}" for i in range(n)], industry_code="5251",
        district_code=["440604" if i % 3 else "440605" for i in range(n)],
    )  # fmt: skip
    scores = tmp_path / "scores.parquet"
    c.to_parquet(scores)
    pool = pool_csv(tmp_path / "pool.csv")
    settings = plan_settings(**changes)
    secret = new_secret()
    seed = derive_seed(secret, settings.public_value)
    outside, cooled = {"complaint": {"E00000001", "E00000002"}}, {"E00000003", "E00000001"}
    plan = make_plan(c, settings, seed, outside, cooled)
    catalogue = load_domains(DOMAINS)
    accepted, _ = read_pool(pool, catalogue)
    needs = visit_domains(plan.visits, None, pd.Timestamp("2025-06-30"), catalogue)
    staffing = assign(plan.visits, accepted, needs, {}, seed, 2, 40)
    record = draw_record(settings, c, signature(scores), commitment(secret), signature(pool))
    report = plan.report | {"draw": record}
    plan = with_inspectors(plan, staffing)
    write_plan(plan, staffing, report, tmp_path / "plans", {"scores": scores})
    return plan, scores, secret, tmp_path / "plans"


@pytest.mark.parametrize("policy", ["optimal", "ratios"])
def test_a_plan_holds_its_overrides_and_capacity(tmp_path, policy):
    plan, _, _, _ = drawn_plan(tmp_path, policy=policy)
    inc = plan.inclusion.set_index("entity_id")
    assert inc.loc["E00000001", "status"] == "outside draw: complaint"  # complaint beats cool-off
    assert inc.loc["E00000003", "status"] == "cool-off"
    assert inc.loc["E00000003", "inclusion_probability"] == 0
    assert inc.loc["E00000001", "inclusion_probability"] == 1
    assert plan.report["expected_visits"] <= 100 + 1e-9  # the draw's: 5% of 2,000
    in_draw = inc[~inc["status"].isin(["cool-off", "outside draw: complaint"])]
    if policy == "optimal":
        assert plan.report["expected_visits"] == pytest.approx(100)
        assert in_draw["inclusion_probability"].min() == pytest.approx(0.005)
    assert set(plan.visits["entity_id"]) == set(inc.index[inc["status"].isin(
        ["drawn", "outside draw: complaint"])])  # fmt: skip


def test_a_published_draw_verifies_and_every_tampered_input_fails(tmp_path):
    from riskdraw.inspection.publication import INCLUSION_FILE, PLAN_FILE, verify_plan

    _, scores, secret, folder = drawn_plan(tmp_path)
    assert verify_plan(folder, scores, secret) == []
    pool = tmp_path / "pool.csv"
    assert verify_plan(folder, scores, secret, pool=pool, domains=DOMAINS) == []
    staffed = (folder / "assignments.csv").read_text(encoding="utf-8")
    first = staffed.splitlines()[1].split(",")
    (folder / "assignments.csv").write_text(
        staffed.replace(first[1], first[1][::-1], 1), encoding="utf-8"
    )  # the first visit's inspectors swapped
    found = verify_plan(folder, scores, secret, pool=pool, domains=DOMAINS)
    assert len(found) == 1 and "assignments.csv differs" in found[0] and first[0] in found[0]
    (folder / "assignments.csv").write_text(staffed, encoding="utf-8")
    other_pool = pool_csv(tmp_path / "other-pool.csv", available_visits="39")
    found = verify_plan(folder, scores, secret, pool=other_pool, domains=DOMAINS)
    assert found == [f"{other_pool} is not the inspector pool the plan was staffed from"]

    assert "not the one committed to" in verify_plan(folder, scores, new_secret())[0]
    assert "public value '584'" in verify_plan(folder, scores, secret, "584")[0]

    doctored = pd.read_parquet(scores)
    doctored.loc[5, "rank_score"] += 1
    other = tmp_path / "other.parquet"
    doctored.to_parquet(other)
    assert "not the scores file the plan was drawn from" in verify_plan(folder, other, secret)[0]

    published = (folder / INCLUSION_FILE).read_text(encoding="utf-8")
    lines = published.splitlines()
    drawn_line = next(i for i, line in enumerate(lines) if ",drawn," in line)
    lines[drawn_line] = lines[drawn_line].replace(",drawn,", ",not drawn,")
    (folder / INCLUSION_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = verify_plan(folder, scores, secret)
    entity = lines[drawn_line].split(",")[0]
    assert len(found) == 1 and entity in found[0] and "status" in found[0]
    (folder / INCLUSION_FILE).write_text(published, encoding="utf-8")

    report = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))
    report["draw"]["params"]["floor"] = 0.004
    (folder / PLAN_FILE).write_text(json.dumps(report), encoding="utf-8")
    assert "inclusion.csv differs from the re-run" in verify_plan(folder, scores, secret)[0]


def test_plans_that_cannot_be_made_are_named(tmp_path):
    from riskdraw.inspection.planning import make_plan

    c = city()
    with pytest.raises(PlanError, match=r"asks 40\.0 visits, above the capacity"):
        make_plan(c, plan_settings(floor=0.02, capacity={"inspections": 30}), "s", {}, set())
    outside = {"complaint": {f"E{i:08d}" for i in range(50)}}  # more than the capacity...
    plan = make_plan(c, plan_settings(capacity={"inspections": 30}), "s", outside, set())
    assert plan.report["visits_outside_draw"] == {"complaint": 50}  # ...visited on top of it
    assert plan.report["expected_visits"] == pytest.approx(30)
    with pytest.raises(PlanError, match="enterprises twice"):
        make_plan(pd.concat([c, c.head(1)]), plan_settings(), "s", {}, set())
    with pytest.raises(PlanError, match=r"unknown risk class \['Z'\]"):
        make_plan(c.assign(risk_class="Z"), plan_settings(), "s", {}, set())


# --- the inspectors' draw -----------------------------------------------------------------


def visits_frame(n: int, district: str = "440604") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": [f"E{i:08d}" for i in range(n)],
            "credit_code": [f"C{i:017d}" for i in range(n)],
            "district_code": district,
            "industry_code": "5251",  # a pharmacy: drugs, prices
        }
    )


def test_the_pool_is_validated_row_by_row_and_the_counts_reconcile(tmp_path):
    from riskdraw.domain.codes import org_code_check_char, uscc_check_char
    from riskdraw.inspection.inspectors import load_domains, read_pool

    org = "MA4UQ7XB" + org_code_check_char("MA4UQ7XB")
    good_code = "91440604" + org + uscc_check_char("91440604" + org)
    path = pool_csv(tmp_path / "pool.csv", n=8)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[1, "inspector_id"] = ""  # missing
    frame.loc[2, "qualifications"] = "registration;astrology"  # unknown domain
    frame.loc[3, "available_visits"] = "-4"  # not a whole number >= 0
    frame.loc[4, "conflicts"] = "91440604MA4UQ7XB1X"  # a bad check character
    frame.loc[5, "inspector_id"] = frame.loc[0, "inspector_id"]  # a repeat
    frame.loc[6, "conflicts"] = good_code
    frame.to_csv(path, index=False)
    accepted, quarantine = read_pool(path, load_domains(DOMAINS))
    assert len(accepted) + quarantine["row"].nunique() == 8
    rules = dict(zip(quarantine["row"], quarantine["rule"], strict=True))
    assert rules == {1: "present", 2: "known_domains", 3: "whole_number", 4: "credit_codes",
                     5: "duplicate_inspector"}  # fmt: skip
    assert quarantine.loc[quarantine["row"] == 2, "value"].item() == "registration;astrology"
    assert accepted.set_index("row").loc[6, "conflicts"] == frozenset({good_code})
    frame.drop(columns=["unit"]).to_csv(path, index=False)
    with pytest.raises(PlanError, match=r"columns \['unit'\] missing"):
        read_pool(path, load_domains(DOMAINS))


def test_every_visit_gets_two_eligible_inspectors_drawn_at_random(tmp_path):
    from riskdraw.inspection.inspectors import assign, load_domains, read_pool, visit_domains

    catalogue = load_domains(DOMAINS)
    path = pool_csv(tmp_path / "pool.csv", n=30, available_visits="8")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[::3, "qualifications"] = "registration;prices"  # a third lack drugs
    frame.loc[4, "conflicts"] = "C" + "0" * 17  # inspector 4 declared a conflict with E00000000
    frame.to_csv(path, index=False)
    pool, _ = read_pool(path, catalogue)
    visits = visits_frame(40)
    needs = visit_domains(visits, None, pd.Timestamp("2025-06-30"), catalogue)
    assert needs.iat[0] == frozenset({"registration", "prices", "drugs"})
    previous = {"E00000001": frozenset({"440600001", "440600003"})}
    staffing = assign(visits, pool, needs, previous, "ab" * 32, 2, 6)
    a = staffing.assignments.set_index("entity_id")
    quals = pool.set_index("inspector_id")["qualifications"]
    home = pool.set_index("inspector_id")["district_code"]
    for entity, row in a.iterrows():
        team = row["inspectors"]
        assert len(set(team)) == 2
        assert needs.iat[int(entity[1:])] <= quals[team[0]] | quals[team[1]]
        assert row["from_district"] == all(home[t] == "440604" for t in team)
    assert not set(a.loc["E00000001", "inspectors"]) & previous["E00000001"]
    assert "440600004" not in a.loc["E00000000", "inspectors"]
    assert staffing.workload["visits"].max() <= 6  # the cap, below each one's availability
    assert staffing.workload["visits"].sum() == 80
    again = assign(visits.iloc[::-1], pool, needs.iloc[::-1], previous, "ab" * 32, 2, 6)
    assert again.assignments.sort_values("entity_id").equals(
        staffing.assignments.sort_values("entity_id")
    )  # the same whatever the order of the visits
    other = assign(visits, pool, needs, previous, "cd" * 32, 2, 6).assignments
    assert (other.set_index("entity_id")["inspectors"] != a["inspectors"]).any()


def test_a_pool_that_cannot_staff_the_plan_names_the_district_and_qualification(tmp_path):
    from riskdraw.inspection.inspectors import assign, load_domains, read_pool, visit_domains

    catalogue = load_domains(DOMAINS)
    path = pool_csv(tmp_path / "pool.csv", n=6, qualifications="registration;prices")
    pool, _ = read_pool(path, catalogue)
    visits = visits_frame(3)
    needs = visit_domains(visits, None, pd.Timestamp("2025-06-30"), catalogue)
    with pytest.raises(PlanError, match="short in district 440604, drugs: 3 visit"):
        assign(visits, pool, needs, {}, "ab" * 32, 2, 40)
    with pytest.raises(PlanError, match="pool is empty"):
        assign(visits, pool.iloc[:0], needs, {}, "ab" * 32, 2, 40)
    busy = pool.assign(qualifications=[frozenset(catalogue)] * len(pool), available_visits=1)
    four = visits_frame(4)
    needs = visit_domains(four, None, pd.Timestamp("2025-06-30"), catalogue)
    with pytest.raises(PlanError, match=r"cannot staff 1 visit\(s\).*every inspector at their"):
        assign(four, busy, needs, {}, "ab" * 32, 2, 40)  # 6 slots: 3 visits, not 4


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30),
    st.sampled_from(["not drawn", "drawn", "outside draw: complaint, mandatory"]),
)
def test_the_inclusion_file_reads_back_exactly_and_as_pandas_would_write_it(pi, status):
    import io

    from riskdraw.inspection.publication import inclusion_bytes

    frame = pd.DataFrame(
        {
            "entity_id": [f"E{i:04d}" for i in range(len(pi))][::-1],
            "risk_class": "A", "probability": pi, "rank_score": pi[::-1], "status": status,
            "inclusion_probability": pi,
        }
    )  # fmt: skip
    written = inclusion_bytes(frame)
    back = pd.read_csv(io.BytesIO(written), dtype={"entity_id": str},
                       float_precision="round_trip")  # fmt: skip
    expected = frame.sort_values("entity_id", ignore_index=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert written.startswith(b"entity_id,risk_class,") and b"\r" not in written


# ---- the service's audit appender and its tokens ------------------------------------------------


def test_the_appender_chains_its_entries_with_those_another_process_writes(tmp_path):
    path = tmp_path / "log.jsonl"
    log = audit.Appender(path)
    log.append("service.score", actor="tax-bureau", rows=3)
    audit.append(path, "plan", visits=10)  # another process, between two of the service's
    log.append("service.plan", actor="planning-office")
    entries = audit.read(path)
    assert audit.verify(entries).ok and [e["seq"] for e in entries] == [1, 2, 3]
    assert [e["who"] for e in entries][::2] == ["tax-bureau", "planning-office"]


def test_the_appender_will_not_open_or_continue_a_broken_chain(tmp_path):
    path = tmp_path / "log.jsonl"
    log = audit.Appender(path)
    log.append("a")
    log.append("b")
    lines = path.read_text().splitlines()
    path.write_text(lines[1] + "\n")  # the first entry deleted
    with pytest.raises(audit.AuditError, match="broken chain"):
        log.append("c")
    with pytest.raises(audit.AuditError, match="broken chain"):
        audit.Appender(path)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RISKDRAW_ENV": "production"}, "RISKDRAW_TOKENS is unset"),
        ({"RISKDRAW_TOKENS": "a:plan"}, "entry 1: not name:role:token"),
        ({"RISKDRAW_TOKENS": "a:boss:0123456789abcdef"}, "role 'boss'"),
        ({"RISKDRAW_TOKENS": "a:plan:short"}, "shorter than 16"),
        ({"RISKDRAW_TOKENS": "a:plan:0123456789abcdef;b:score:0123456789abcdef"}, "twice"),
        (
            {"RISKDRAW_ENV": "Production", "RISKDRAW_TOKENS": "a:plan:riskdraw-development-token"},
            "refused in production",
        ),
        ({"RISKDRAW_TOKENS": " ; "}, "holds no entry"),
    ],
)
def test_tokens_the_service_will_not_start_with_are_named(env, named):
    from riskdraw.access import AccessError, tokens_from_env

    with pytest.raises(AccessError, match=named):
        tokens_from_env(env)


def test_tokens_name_their_caller_and_a_role_covers_the_lesser_one():
    from riskdraw.access import DEV_TOKEN, tokens_from_env

    tokens = tokens_from_env(
        {"RISKDRAW_TOKENS": "office:plan:aaaaaaaaaaaaaaaa\nbank:score:bbbbbbbbbbbbbbbb"}
    )
    office, bank = (
        tokens.caller("Bearer aaaaaaaaaaaaaaaa"),
        tokens.caller("Bearer bbbbbbbbbbbbbbbb"),
    )
    assert (office.name, bank.name) == ("office", "bank") and not tokens.development
    assert office.may("plan") and office.may("score") and bank.may("score") and not bank.may("plan")
    for header in (None, "", "aaaaaaaaaaaaaaaa", "Basic aaaaaaaaaaaaaaaa", "Bearer aaaa"):
        assert tokens.caller(header) is None
    development = tokens_from_env({})
    assert development.development and development.caller(f"Bearer {DEV_TOKEN}").may("plan")
