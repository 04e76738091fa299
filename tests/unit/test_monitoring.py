"""The monitor's checks on small frames: drift, data quality, performance, source deliveries,
and the verdict they lead to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdraw.config import load_section
from riskdraw.monitoring.checks import (
    Check,
    families_report,
    model_report,
    performance_report,
    tolerances,
)
from riskdraw.monitoring.deliveries import delivery_checks, delivery_tables
from riskdraw.monitoring.verdict import verdict
from tests.conftest import PARAMS

SETTINGS = load_section("monitor", PARAMS)
FACTORS = ["years", "complaints"]
BOUNDS = {"years": (0.0, float("inf")), "complaints": (0.0, float("inf"))}


def city(n: int, seed: int, years: float = 8.0, complaints: float = 0.3) -> pd.DataFrame:
    """Enterprises with two factors and the scores a fixed model gives them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "years": rng.gamma(2.0, years / 2.0, n), "complaints": rng.poisson(complaints, n) * 1.0,
    })  # fmt: skip
    p = 1 / (1 + np.exp(-(-2.0 - 0.1 * frame["years"] + 0.8 * frame["complaints"])))
    classes = np.select([p >= 0.6, p >= 0.3, p >= 0.1], ["D", "C", "B"], "A")
    return frame.assign(probability=p, risk_class=classes)


def failed(checks: list[Check], group: str | None = None) -> list[str]:
    return [c.subject for c in checks if c.status == "fail" and group in (None, c.group)]


def test_the_same_city_twice_passes_every_model_check():
    _, checks = model_report(city(4000, 1), city(6000, 2), FACTORS, BOUNDS, SETTINGS)
    assert not failed(checks), checks
    assert {c.group for c in checks} == {"data_quality", "factor_drift", "prediction_drift"}


def test_a_moved_factor_fails_its_drift_and_the_scores_it_moves():
    _, checks = model_report(city(4000, 1), city(6000, 2, complaints=1.2), FACTORS, BOUNDS,
                             SETTINGS)  # fmt: skip
    assert failed(checks, "factor_drift") == ["complaints"]
    assert "probability" in failed(checks, "prediction_drift")
    years = next(c for c in checks if c.subject == "years" and c.group == "factor_drift")
    assert years.status == "pass"


def test_a_drift_the_model_was_validated_across_is_tolerated():
    reference, moved = city(4000, 1), city(6000, 2, years=10.0)
    _, checks = model_report(reference, moved, FACTORS, BOUNDS, SETTINGS)
    assert "years" in failed(checks, "factor_drift")
    tolerance = tolerances(reference, city(5000, 3, years=10.5), FACTORS)
    assert tolerance["years"] > SETTINGS.drift.threshold
    _, checks = model_report(reference, moved, FACTORS, BOUNDS, SETTINGS, tolerance)
    assert "years" not in failed(checks, "factor_drift")


def test_a_factor_that_moves_every_round_is_tolerated_as_far_as_one_round_moves_it():
    """An attribute that grows each year (months of records over a source's whole history)
    moved between the yearly rounds the version was calibrated on as far as the screening,
    ten months on, moved from the reference: tolerated, though the half-year held-out round
    moved less. Three years' worth at once is not; nor is a factor that never moved between
    rounds and moves now."""

    def round_of(year: int, years: float, seed: int) -> pd.DataFrame:
        return city(3000, seed, years=years).assign(as_of_date=pd.Timestamp(year, 9, 1))

    calibrated = [round_of(2021, 8.0, 11), round_of(2022, 9.0, 12), round_of(2023, 10.0, 13)]
    held_out = round_of(2024, 10.5, 14).assign(as_of_date=pd.Timestamp(2024, 3, 1))
    reference, validated = calibrated[-1], pd.concat([*calibrated, held_out], ignore_index=True)
    screening = city(6000, 20, years=10.9)
    _, checks = model_report(reference, screening, FACTORS, BOUNDS, SETTINGS,
                             tolerances(reference, held_out, FACTORS))  # fmt: skip
    assert "years" in failed(checks, "factor_drift")  # the held-out round alone: not enough
    tolerance = tolerances(reference, validated, FACTORS)
    assert tolerance["complaints"] < SETTINGS.drift.threshold
    _, checks = model_report(reference, screening, FACTORS, BOUNDS, SETTINGS, tolerance)
    assert "years" not in failed(checks, "factor_drift")
    three_more = city(6000, 21, years=13.0, complaints=0.9)
    _, checks = model_report(reference, three_more, FACTORS, BOUNDS, SETTINGS, tolerance)
    assert set(failed(checks, "factor_drift")) == {"years", "complaints"}


def test_more_empty_values_or_a_value_it_cannot_take_fail_data_quality():
    current = city(6000, 2)
    current.loc[:1000, "complaints"] = np.nan
    current.loc[5, "years"] = -1.0
    _, checks = model_report(city(4000, 1), current, FACTORS, BOUNDS, SETTINGS)
    assert set(failed(checks, "data_quality")) == {"complaints: missing", "years: range"}


def test_a_family_drifts_when_half_its_attributes_do_and_warns():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({f"a{i}": rng.poisson(1.0, 3000) * 1.0 for i in range(4)})
    cur = pd.DataFrame({f"a{i}": rng.poisson(1.0 if i < 2 else 2.0, 3000) * 1.0
                        for i in range(4)})  # fmt: skip
    families = {"a0": "f:one", "a1": "f:one", "a2": "f:two", "a3": "f:two"}
    snapshot, checks, constant = families_report(ref, cur, families, SETTINGS)
    status = {c.subject: c.status for c in checks}
    assert status == {"f:one": "pass", "f:two": "warn"} and not constant
    assert "2 of 2 attributes drifted" in next(c.detail for c in checks if c.subject == "f:two")
    assert len(snapshot.dict()["metrics"]) == 2  # the most drifted attribute of each family


def performance(n: int, seed: int, lift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.9, n)
    classes = np.select([p >= 0.6, p >= 0.3, p >= 0.1], ["D", "C", "B"], "A")
    problem = (rng.uniform(size=n) < np.clip(p + lift * (classes == "C"), 0, 1)) * 1.0
    return pd.DataFrame({"problem": problem, "probability": p, "risk_class": classes,
                         "district_code": rng.choice(["440604", "440605"], n),
                         "residual": problem - p})  # fmt: skip


def test_results_as_the_model_expected_pass_and_a_class_found_more_often_fails():
    _, checks = performance_report(performance(3000, 1), SETTINGS)
    assert not failed(checks)
    _, checks = performance_report(performance(3000, 1, lift=0.3), SETTINGS)
    assert "class C" in failed(checks, "performance")
    assert "class A" not in failed(checks)


def test_a_large_round_s_small_miss_is_significant_but_not_a_fault():
    """With 60,000 visits three standard errors are half a point: a class found 2 points more
    often than expected passes (under `min_difference`), 8 points more fails."""
    small = performance(60_000, 3, lift=0.02)
    assert SETTINGS.performance.z * np.sqrt((small["probability"] * (1 - small["probability"]))
                                            .sum()) / len(small) < 0.01  # fmt: skip
    _, checks = performance_report(small, SETTINGS)
    assert not failed(checks)
    c = next(c for c in checks if c.subject == "class C")
    assert f"at least {SETTINGS.performance.min_difference:.0%}" in c.rule
    _, checks = performance_report(performance(60_000, 3, lift=0.08), SETTINGS)
    assert failed(checks, "performance") == ["class C"]


def test_a_group_too_small_is_shown_not_judged():
    _, checks = performance_report(performance(SETTINGS.performance.min_visits - 1, 2), SETTINGS)
    assert {c.status for c in checks} == {"skipped"}


def write_source(folder, source_id: str, frame: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.assign(source_id=source_id).to_parquet(folder / f"{source_id}.parquet")


def penalties(n_per_year: int, seed: int, end="2025-06-30") -> pd.DataFrame:
    """Penalties recorded evenly over four years up to `end`: a fine and a penalty kind."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(end)
    days = rng.integers(0, 4 * 365, 4 * n_per_year)
    return pd.DataFrame({
        "credit_code": [f"C{i}" for i in range(len(days))],
        "known_on": end - pd.to_timedelta(days, unit="D"),
        "fine": rng.lognormal(8, 1, len(days)),
        "penalty_kind": rng.choice(["罚款", "警告", "没收"], len(days)),
        "violation": rng.choice(["无照经营", "虚假宣传"], len(days)),
    })  # fmt: skip


def source_checks(interim) -> list[Check]:
    summary, codes = delivery_tables(interim, pd.Timestamp("2025-06-30"), SETTINGS.deliveries)
    return delivery_checks(summary, codes, {}, {"S2": "a bureau"}, SETTINGS.deliveries)


def test_a_steady_source_raises_nothing(tmp_path):
    write_source(tmp_path / "penalty", "S1", penalties(400, 1))
    assert source_checks(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("stopped", "stopped sending"),
        ("doubled", "times as many records"),
        ("unit", "a change of unit"),
        ("mix", "a different mix of records"),
        ("renamed", "field penalty_kind filled in 0%"),
        ("renumbered", "field violation: 100% of the records carry codes"),
    ],
)
def test_a_source_that_changes_is_named_with_its_change(tmp_path, change, words):
    frame = penalties(400, 2)
    latest = frame["known_on"] > pd.Timestamp("2025-06-30") - pd.Timedelta(days=180)
    if change == "stopped":
        frame = frame[~latest]
    elif change == "doubled":
        frame = pd.concat([frame, frame[latest].assign(credit_code="X")], ignore_index=True)
    elif change == "unit":
        frame.loc[latest, "fine"] /= 10_000
    elif change == "mix":  # most new penalties tiny ones: the median falls, the top stays
        small = latest & (np.arange(len(frame)) % 4 != 0)
        frame.loc[small, "fine"] /= 500
    elif change == "renamed":
        frame.loc[latest, "penalty_kind"] = None
    else:
        frame.loc[latest, "violation"] = frame.loc[latest, "violation"].map(
            {"无照经营": "V01", "虚假宣传": "V02"}
        )
    write_source(tmp_path / "penalty", "S1", penalties(400, 1))
    write_source(tmp_path / "penalty", "S2", frame)
    checks = source_checks(tmp_path)
    assert [c.subject for c in checks] == ["S2"]
    assert words in checks[0].detail and checks[0].detail.startswith("a bureau (penalty)")


def test_codes_are_judged_by_what_chance_leaves_unseen(tmp_path):
    """A small source (25 records a half-year, 35 in the latest) renumbering its two codes is
    caught though its earlier deliveries hold fewer than 30 records a window; a long code list
    read from as few records (most codes seen once) shows new codes by chance, and is not
    called renumbered."""
    small = penalties(50, 4)
    latest = small["known_on"] > pd.Timestamp("2025-06-30") - pd.Timedelta(days=180)
    more = small[latest].head(10).assign(credit_code=lambda f: "N" + f["credit_code"])
    small = pd.concat([small, more], ignore_index=True)
    latest = small["known_on"] > pd.Timestamp("2025-06-30") - pd.Timedelta(days=180)
    small.loc[latest, "violation"] = np.where(small.loc[latest, "violation"] == "无照经营", "V1",
                                              "V2")  # fmt: skip
    write_source(tmp_path / "small" / "penalty", "S2", small)
    summary, _ = delivery_tables(tmp_path / "small", pd.Timestamp("2025-06-30"),
                                     SETTINGS.deliveries)  # fmt: skip
    assert summary.groupby("window")["records"].sum().loc[[1, 2, 3]].sum() < 3 * 30
    renumbered = source_checks(tmp_path / "small")
    assert [c.subject for c in renumbered] == ["S2"] and "violation" in renumbered[0].detail
    long = small.copy()
    rng = np.random.default_rng(5)
    long["violation"] = [f"C{k:02d}" for k in rng.integers(0, 60, len(long))]
    write_source(tmp_path / "long" / "penalty", "S2", long)
    assert source_checks(tmp_path / "long") == []


def test_what_ingest_found_in_a_delivery_is_a_source_check():
    quality = {
        "failed": {"S9": "truncated"},
        "per_source": [{"source_id": "S3", "department": "a court", "findings": [
            {"finding": "unknown_columns", "detail": "columns the kind does not know: ['案号x']"},
            {"finding": "undelivered_records", "detail": "3 never arrived"}]}],
    }  # fmt: skip
    checks = delivery_checks(pd.DataFrame(), pd.DataFrame(), quality, {}, SETTINGS.deliveries)
    assert [(c.subject, c.status) for c in checks] == [("S9", "warn"), ("S3", "fail")]
    assert "案号x" in checks[1].detail and "never arrived" not in checks[1].detail


def check(group: str, status: str = "fail", subject: str = "x") -> Check:
    return Check(group, subject, status, 1.0, "rule", f"{group} {subject} moved")


@pytest.mark.parametrize(
    ("checks", "recommendation", "status"),
    [
        ([check("source"), check("factor_drift")], "investigate a source", "fail"),
        ([check("performance"), check("factor_drift")], "retrain", "fail"),
        ([check("prediction_drift")], "retrain", "fail"),
        ([check("data_quality")], "investigate the profile", "fail"),
        ([check("family_drift", "warn"), check("factor_drift", "pass")], "nothing to do", "warn"),
        ([check("factor_drift", "pass")], "nothing to do", "pass"),
    ],
)
def test_the_verdict_puts_a_source_first_then_the_model(checks, recommendation, status):
    found = verdict(checks)
    assert (found["recommendation"], found["status"]) == (recommendation, status)
    assert len(found["failed"]) == sum(c.status == "fail" for c in checks)
    assert found["why"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(300, 3000))
def test_a_city_compared_with_itself_never_fails(seed, n):
    frame = city(n, seed)
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    _, checks = model_report(frame, shuffled, FACTORS, BOUNDS, SETTINGS)
    assert verdict(checks)["status"] == "pass"


def test_scores_of_another_snapshot_or_results_of_another_plan_are_refused_by_name():
    from types import SimpleNamespace

    from riskdraw.monitoring.checks import MonitorError, performance_frame
    from riskdraw.monitoring.monitor import monitor

    snapshot = city(100, 1).assign(entity_id=[f"E{i}" for i in range(100)])
    model = SimpleNamespace(factors=FACTORS)
    with pytest.raises(MonitorError, match="not of this screening snapshot") as refused:
        monitor(model, snapshot, snapshot, snapshot.iloc[:90], {}, BOUNDS, SETTINGS)
    assert refused.value.exit_code == 3
    results = pd.DataFrame({"entity_id": ["E1", "X9"], "problem": [True, False],
                            "risk_class": ["A", "B"]})  # fmt: skip
    with pytest.raises(MonitorError, match="did not score"):
        performance_frame(results, snapshot)


def test_the_alarm_count_credits_a_scenario_only_to_the_check_made_for_it():
    """benchmarks.alarms: a renumbered complaint source is not the doubled complaints, a
    complaint factor's drift is not the boom, and a source's warning catches nothing but the
    registry's; a family of registration that drifts is the boom, failed or warned."""
    from benchmarks.alarms import caught

    def checks(*rows):
        return pd.DataFrame(rows, columns=["group", "subject", "status", "detail"])

    kinds = {"S027": "penalty", "S032": "complaint", "S033": "complaint", "S012": "annual_report"}
    renumbered = checks(
        ("source", "S033", "fail", "field category: codes renumbered?"),
        ("factor_drift", "complaint_count_count_365d", "fail", "mean up"),
    )
    assert caught(renumbered, kinds) == {
        "renamed_field": False, "renumbered_codes": True, "unit_change": False,
        "complaints": False, "boom": False,
    }  # fmt: skip
    everything = checks(
        ("source", "S027", "fail", "columns the kind does not know: ['罚没金额(元)']"),
        ("source", "S012", "fail", "field revenue's median is 0.0001 times: a change of unit?"),
        ("source", "S032", "fail", "1.85 times as many records"),
        ("source", "S001", "warn", "the city's registry changed"),
    )  # fmt: skip
    assert caught(everything, kinds) == {
        "renamed_field": True, "renumbered_codes": False, "unit_change": True,
        "complaints": True, "boom": True,
    }  # fmt: skip
    warned = everything.assign(status="warn").iloc[:3]
    assert not any(caught(warned, kinds).values())
    founding = checks(("family_drift", "registration:founded_on", "warn", "years 0.33"))
    assert caught(founding, kinds)["boom"]


def test_the_validated_rounds_are_read_by_date_sampled_and_never_the_screening(tmp_path):
    """One file per date (the profile's layout) or one file for all: only the round rows of
    each date named, at most `rows` of each, the same draw for the same seed."""
    from riskdraw.monitoring.monitor import validated_snapshots

    def snapshot(date: str, kind: str, n: int, seed: int) -> pd.DataFrame:
        frame = city(n, seed).drop(columns=["probability", "risk_class"])
        return frame.assign(snapshot=kind, as_of_date=pd.Timestamp(date), entity_id=range(n))

    parts = {"2024-09-01": snapshot("2024-09-01", "round", 500, 1),
             "2025-03-01": snapshot("2025-03-01", "round", 80, 2),
             "2025-06-30": snapshot("2025-06-30", "screening", 300, 3)}  # fmt: skip
    folder = tmp_path / "profile.parquet"
    folder.mkdir()
    for date, frame in parts.items():
        frame.to_parquet(folder / f"as_of={date}.parquet")
    single = tmp_path / "one.parquet"
    pd.concat(parts.values(), ignore_index=True).to_parquet(single)
    dates = ["2024-09-01", "2025-03-01"]
    for profile in (folder, single):
        read = validated_snapshots(profile, dates, [*FACTORS, "as_of_date"], 200, seed=5)
        assert read.groupby("as_of_date").size().to_dict() == {
            pd.Timestamp("2024-09-01"): 200, pd.Timestamp("2025-03-01"): 80}  # fmt: skip
        assert list(read.columns) == [*FACTORS, "as_of_date"]
        again = validated_snapshots(profile, dates, [*FACTORS, "as_of_date"], 200, seed=5)
        pd.testing.assert_frame_equal(read, again)
    assert validated_snapshots(folder, [], FACTORS, 200, seed=5) is None
