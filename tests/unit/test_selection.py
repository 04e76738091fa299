"""Factor selection on synthetic rows whose true drivers are known to the test, not to the code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskdraw.features.selection import (
    FactorSelector,
    information_value,
    iv_by_round,
    quantile_bins,
    training_rows,
    woe_encode,
)


def _rows(drivers: list[str], n: int = 4000, seed: int = 0, twin_noise: float = 0.5):
    """24 attributes in 12 families (each an attribute and a noisy twin); `drivers` raise risk."""
    rng = np.random.default_rng(seed)
    base = {}
    for i in range(12):
        kind = i % 3
        if kind == 0:
            value = rng.normal(size=n)
        elif kind == 1:
            value = rng.poisson(0.6, size=n).astype(float)
        else:
            value = (rng.random(n) < 0.3).astype(float)
        base[f"a{i}"] = value
    X = pd.DataFrame(base)
    for i in range(12):
        X[f"a{i}_twin"] = X[f"a{i}"] + rng.normal(scale=twin_noise * X[f"a{i}"].std(), size=n)
    families = {c: f"k{c.split('_')[0][1:]}:x" for c in X.columns}
    z = sum((X[d] - X[d].mean()) / X[d].std() for d in drivers)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.6 + 0.9 * z)))).astype(int)
    folds = np.repeat(np.arange(4), n // 4)
    return X, y, folds, families


def _selector(families, **kw) -> FactorSelector:
    return FactorSelector(
        n_factors=4, families=families, min_iv=0.02, l1_resamples=10, l1_keep=6, **kw
    )


def test_quantile_bins_keep_heavy_values_and_missing_apart():
    sparse = np.r_[np.zeros(900), np.arange(1, 101)]  # a count that is mostly zero
    codes = quantile_bins(sparse, 10)
    assert len(set(codes[:900])) == 1 and not set(codes[:900]) & set(codes[900:])
    horizon = np.r_[np.full(950, 3650.0), np.linspace(1, 3000, 50)]  # days since: mostly never
    codes = quantile_bins(horizon, 10)
    assert not set(codes[:950]) & set(codes[950:])
    few = quantile_bins(np.array([0.0, 1.0, np.nan, 1.0]), 10)
    assert list(few) == [0, 1, -1, 1]


def test_a_rare_strong_record_has_information_value():
    rng = np.random.default_rng(5)
    rare = (rng.random(20000) < 0.03).astype(float)  # e.g. a penalty in the last three years
    y = (rng.random(20000) < np.where(rare == 1, 0.5, 0.15)).astype(int)
    assert information_value(pd.Series(rare * rng.integers(1, 4, 20000)), y) > 0.05


def test_weights_of_evidence_replace_each_attribute():
    X, y, _, _ = _rows(["a0"])
    woe = woe_encode(X[["a0", "a1"]], y)
    assert woe.shape == (len(X), 2) and woe.notna().all().all()
    assert abs(np.corrcoef(woe["a0"], y)[0, 1]) > abs(np.corrcoef(woe["a1"], y)[0, 1])


def test_information_value_orders_separators_above_noise():
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.2).astype(int)
    strong = pd.Series(y + rng.normal(scale=0.5, size=5000))
    noise = pd.Series(rng.normal(size=5000))
    with_missing = strong.where(rng.random(5000) < 0.7)
    assert information_value(strong, y) > 0.5
    assert information_value(noise, y) < 0.02
    assert information_value(with_missing, y) > 0.2  # missing values are a bin, not an error
    assert information_value(pd.Series(np.ones(5000)), y) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize(
    "drivers", [["a0", "a4", "a7", "a9"], ["a2", "a3", "a8", "a11"]], ids=["city1", "city2"]
)
def test_the_data_decides_the_factors_one_per_family(drivers):
    X, y, folds, families = _rows(drivers)
    selector = _selector(families).fit(X, y, folds)
    chosen = selector.get_support(names=True)
    assert len(chosen) == 4
    assert {families[c] for c in chosen} == {families[d] for d in drivers}
    assert selector.scores_.loc[chosen, "direction"].eq(1).all()
    assert set(selector.method_factors_) == {"iv", "gbm", "l1", "perm"}
    assert list(selector.transform(X).columns) == chosen


def test_a_proxy_of_a_driver_loses_to_it_out_of_sample():
    """A record left by the same conduct as a driver separates as well on its own (information
    value), but adds nothing once the driver is known: shuffling it costs a model nothing."""
    rng = np.random.default_rng(11)
    n = 6000
    conduct = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "driver": conduct + rng.normal(scale=0.6, size=n),
            "proxy": conduct + rng.normal(scale=0.6, size=n),
            "noise": rng.normal(size=n),
            "other": rng.normal(size=n),
        }
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.2 * X["driver"] + 0.8 * X["other"])))).astype(
        int
    )
    folds = np.repeat(np.arange(4), n // 4)
    families = {c: f"{c}:x" for c in X.columns}
    selector = FactorSelector(n_factors=2, families=families, l1_resamples=5, l1_keep=3)
    selector.fit(X, y, folds)
    rise = selector.family_importance_.mean()
    assert selector.scores_.at["proxy", "iv"] > 0.1  # it separates on its own...
    assert rise["driver:x"] > 5 * max(rise["proxy:x"], 1e-4)  # ...but adds little to the driver
    assert rise["proxy:x"] < rise["other:x"]
    assert selector.get_support() == ["driver", "other"]
    assert selector.method_factors_["perm"] == ["driver", "other"]


def test_policy_fixes_factors_first():
    X, y, folds, families = _rows(["a0", "a4", "a7", "a9"])
    selector = _selector(families, fixed=("a5",)).fit(X, y, folds)
    chosen = selector.get_support()
    assert chosen[0] == "a5" and selector.reasons_["a5"] == "fixed by policy"
    assert len(chosen) == 4 and len({families[c] for c in chosen}) == 4


def test_a_twin_is_pruned_by_family_and_a_look_alike_by_correlation():
    X, y, folds, families = _rows(["a0", "a3"], twin_noise=0.05)
    selector = _selector(families).fit(X, y, folds)
    chosen = selector.get_support()
    assert {families[c] for c in chosen} >= {families["a0"], families["a3"]}
    assert not ({"a0", "a0_twin"} <= set(chosen))
    twin = "a0_twin" if "a0" in chosen else "a0"
    assert selector.reasons_[twin].startswith("same family")
    # The same twin in a family of its own: only one of the two is kept, the other correlates.
    own = {**families, twin: "other:x"}
    selector = _selector(own).fit(X, y, folds)
    kept = [c for c in ("a0", twin) if c in selector.get_support()]
    assert len(kept) == 1
    left = twin if kept == ["a0"] else "a0"
    assert selector.reasons_[left].startswith("correlates")


def test_bad_inputs_are_refused_with_the_reason():
    X, y, folds, families = _rows(["a0"])
    with pytest.raises(ValueError, match="fixed factors not among"):
        _selector(families, fixed=("nope",)).fit(X, y, folds)
    with pytest.raises(ValueError, match="both outcomes"):
        _selector(families).fit(X, np.zeros(len(y)), folds)
    with pytest.raises(RuntimeError, match="not fitted"):
        _selector(families).get_support()
    selector = _selector(families).fit(X, y, folds)
    with pytest.raises(ValueError, match="lacks factors"):
        selector.transform(X.drop(columns=selector.get_support()[0]))


def test_training_rows_leave_the_last_rounds_out():
    frame = pd.DataFrame(
        {
            "as_of_date": pd.to_datetime(
                ["2020-01-01"] * 2 + ["2021-01-01"] * 2 + ["2022-01-01"] * 2
            ),
            "snapshot": "round",
            "inspected": [True, False] * 3,
            "problem": [1, None, 0, None, 1, None],
        }
    )
    rows = training_rows(frame, holdout_rounds=1)
    assert rows["as_of_date"].max() == pd.Timestamp("2021-01-01")
    assert rows["inspected"].all() and len(rows) == 2
    with pytest.raises(ValueError, match="at least two rounds"):
        training_rows(frame, holdout_rounds=2)


def test_iv_by_round_scores_each_factor_in_each_round():
    X, y, folds, _ = _rows(["a0"])
    rows = X.assign(
        problem=y, as_of_date=pd.to_datetime("2020-01-01") + pd.to_timedelta(folds * 365, "D")
    )
    table = iv_by_round(rows, ["a0", "a1"])
    assert list(table.index) == ["a0", "a1"] and table.shape[1] == 4
    assert (table.loc["a0"] > table.loc["a1"]).all()
