"""Factor selection: from the profile's ~455 attributes to the 12 factors, driven by the data.

Four methods score the attributes on the labelled rows (enterprises inspected in the training
rounds), each in its own way:

- `iv`: information value of the attribute over quantile bins (a value on a bin edge, such as
  the zero of a sparse count, and the missing values are bins of their own), the scorecard
  tradition;
- `gbm`: LightGBM gain importance, fitted once per time fold (each training round left out in
  turn), with its stability (share of folds that rank the attribute in their top 2 x n);
- `l1`: stability selection: how often an L1-penalised logistic regression on the attributes'
  weights of evidence, fitted on random halves of the rows, keeps the attribute;
- `perm`: grouped permutation importance out of sample: the same fold models, each scored on
  the round it left out, with all the attributes of one family shuffled together; the rise
  in log loss is what the model loses without that family's facts, given every other family.

Information value is univariate: a proxy of a driver (another record that the same conduct
leaves) scores as high as the driver. Gain is measured in sample and favours attributes with
many distinct values (amounts, sizes). Permutation importance on a left-out round answers the
question selection asks: which facts does a model need to predict a round it has not seen?
The `perm` method takes families in that order, and from each the attribute its models split
on most (gain); the consensus takes families in the same order, and from each the attribute
the three attribute-level methods rank best on average (mean of the iv, gbm and l1 ranks).
Factors are then taken in that order, skipping an attribute when one of its family is already
chosen (same facts), when its information value is under `min_iv`, or when it correlates
(Spearman) above `max_correlation` with a chosen factor. Factors that policy requires
(`fixed`) come first, whatever their scores. Last, the choice is confirmed as a set: a model of
the chosen factors alone, fitted per time fold, must lose on the round it left out when a
factor is shuffled (on average over the rounds); the weakest factor that
adds nothing to the others is dropped with its family and the next in order takes its place.
Two families that carry the same facts (penalty counts and penalty fines) share their
permutation importance between them; this step keeps the one that adds.

`FactorSelector` follows scikit-learn's contract (`fit` learns `scores_` and `factors_`;
`transform` keeps the factors; `get_support(names=True)`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

log = logging.getLogger(__name__)

METHODS = ("iv", "gbm", "l1", "perm")


def quantile_bins(x: pd.Series | np.ndarray, bins: int = 10) -> np.ndarray:
    """Bin codes for `x`: up to `bins` quantile intervals, a value that sits on a quantile edge
    (e.g. the 0 of a sparse count, or the horizon of a `days_since`) a bin of its own, and the
    missing values bin -1. Attributes with few distinct values get one bin per value."""
    values = np.asarray(x, dtype=float)
    codes = np.full(len(values), -1, dtype=np.int64)
    known = ~np.isnan(values)
    v = values[known]
    if not len(v):
        return codes
    distinct = np.unique(v)
    if len(distinct) <= bins:
        codes[known] = np.searchsorted(distinct, v)
        return codes
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)))
    at = np.searchsorted(edges, v, side="left")
    codes[known] = 2 * at + np.isin(v, edges)
    return codes


def _woe_table(codes: np.ndarray, y: np.ndarray, eps: float) -> pd.DataFrame:
    """Per bin code: share of non-events (`good`), of events (`bad`), weight of evidence."""
    bins, at = np.unique(codes, return_inverse=True)
    events = np.bincount(at, weights=(y == 1), minlength=len(bins)) + eps
    others = np.bincount(at, weights=(y == 0), minlength=len(bins)) + eps
    good, bad = others / others.sum(), events / events.sum()
    return pd.DataFrame({"good": good, "bad": bad, "woe": np.log(bad / good)}, index=bins)


def information_value(x: pd.Series, y: np.ndarray, bins: int = 10, eps: float = 0.5) -> float:
    """Information value of `x` for the binary outcome `y`, over `quantile_bins`.

    `eps` (added to every bin's counts) keeps empty cells finite.
    IV = sum over bins of (share of events - share of non-events) x WoE.
    """
    t = _woe_table(quantile_bins(x, bins), np.asarray(y), eps)
    return float(((t["bad"] - t["good"]) * t["woe"]).sum())


def woe_encode(X: pd.DataFrame, y: np.ndarray, bins: int = 10, eps: float = 0.5) -> pd.DataFrame:
    """Each attribute replaced by the weight of evidence of its bin (the scorecard tradition):
    a linear model on these sees non-linear and non-monotone effects."""
    y = np.asarray(y)
    out = {}
    for column in X.columns:
        codes = quantile_bins(X[column], bins)
        woe = _woe_table(codes, y, eps)["woe"]
        out[column] = pd.Series(codes, index=X.index).map(woe).to_numpy()
    return pd.DataFrame(out, index=X.index)


def _ranks(score: pd.Series) -> pd.Series:
    return score.rank(ascending=False, method="average")


def _log_loss(y: np.ndarray, p: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean log loss of probabilities `p` for outcomes `y`."""
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.average(y * np.log(p) + (1 - y) * np.log(1 - p), weights=weight))


def _family_ranks(scores: pd.DataFrame, within: pd.Series) -> pd.Series:
    """Ranks of attributes ordered by their family's `perm_loss_rise`, then by `within`."""
    order = (
        scores.assign(_within=within)
        .sort_values(["perm_loss_rise", "_within"], ascending=[False, True], kind="stable")
        .index
    )
    return pd.Series(np.arange(1.0, len(order) + 1), index=order).reindex(scores.index)


class FactorSelector:
    """Chooses `n_factors` factors from the profile's attributes (see the module docstring).

    Args:
        n_factors: how many factors to choose.
        families: attribute -> family (redundancy: one factor per family).
        fixed: factors that policy requires; chosen first.
        min_iv: attributes with less information value never qualify.
        max_correlation: largest |Spearman correlation| between two chosen factors.
        bins: quantile bins for the information value.
        l1_resamples, l1_keep: stability selection: random halves, and how many attributes
            the penalty is tuned to keep on each.
        perm_repeats: shuffles of each family (or factor) per left-out round.
        max_swaps: how many factors the confirmation may replace.
        gbm_params: LightGBM parameters for the fold models (gain and permutation).
        random_state: seed of every random choice.
    """

    def __init__(
        self,
        n_factors: int = 12,
        families: dict[str, str] | None = None,
        fixed: tuple[str, ...] = (),
        min_iv: float = 0.02,
        max_correlation: float = 0.7,
        bins: int = 10,
        l1_resamples: int = 30,
        l1_keep: int = 24,
        perm_repeats: int = 5,
        max_swaps: int = 12,
        gbm_params: dict | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.families = families
        self.fixed = fixed
        self.min_iv = min_iv
        self.max_correlation = max_correlation
        self.bins = bins
        self.l1_resamples = l1_resamples
        self.l1_keep = l1_keep
        self.perm_repeats = perm_repeats
        self.max_swaps = max_swaps
        self.gbm_params = gbm_params
        self.random_state = random_state

    # -- the methods ------------------------------------------------------------------------
    def _iv(self, X: pd.DataFrame, y: np.ndarray) -> pd.Series:
        return pd.Series({c: information_value(X[c], y, self.bins) for c in X.columns})

    def _params(self) -> dict:
        return {
            "n_estimators": 200,
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_child_samples": 20,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.5,
            "verbose": -1,
            # One thread: on a few thousand rows two threads cost more than they save (and with
            # OMP_WAIT_POLICY=PASSIVE, set for the shared machine, ten times more).
            "n_jobs": 1,
            "random_state": self.random_state,
        } | (self.gbm_params or {})

    def _shuffle_rise(
        self,
        model: lgb.LGBMClassifier,
        held: pd.DataFrame,
        y: np.ndarray,
        weight: np.ndarray,
        groups: dict[str, list[str]],
        rng: np.random.Generator,
    ) -> pd.Series:
        """The rise in (weighted) log loss on `held` when each group's columns are shuffled
        together (mean over `perm_repeats` shuffles)."""
        booster = model.booster_
        values = held.to_numpy(dtype=float)
        base = _log_loss(y, booster.predict(values), weight)
        rise = {}
        for group, columns in groups.items():
            at = [held.columns.get_loc(c) for c in columns]
            shuffled = values.copy()
            trials = []
            for _ in range(self.perm_repeats):
                shuffled[:, at] = values[rng.permutation(len(values))][:, at]
                trials.append(_log_loss(y, booster.predict(shuffled), weight) - base)
            rise[group] = float(np.mean(trials))
        return pd.Series(rise)

    def _gbm(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        folds: np.ndarray,
        weight: np.ndarray,
        families: pd.Series,
    ) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
        """Per time fold, a LightGBM on the other folds: its gain (normalised), whether the
        attribute is in its top 2 x n, and, on the fold left out, the rise in log loss when
        each family's attributes are shuffled together (rows: folds; columns: families)."""
        rng = np.random.default_rng(self.random_state)
        members = {f: list(X.columns[families.to_numpy() == f]) for f in families.unique()}
        gains, tops, losses = [], [], []
        for fold in np.unique(folds):
            train = folds != fold
            model = lgb.LGBMClassifier(**self._params(), importance_type="gain")
            model.fit(X[train], y[train], sample_weight=weight[train])
            gain = pd.Series(model.feature_importances_, index=X.columns, dtype=float)
            gains.append(gain / max(gain.sum(), 1e-12))
            tops.append(_ranks(gain) <= 2 * self.n_factors)
            if len(np.unique(y[~train])) < 2:
                continue  # a round with one outcome says nothing about loss
            rise = self._shuffle_rise(model, X[~train], y[~train], weight[~train], members, rng)
            losses.append(rise.rename(fold))
        return (
            pd.concat(gains, axis=1).mean(axis=1),
            pd.concat(tops, axis=1).mean(axis=1),
            pd.DataFrame(losses),
        )

    def _factor_rise(
        self, X: pd.DataFrame, y: np.ndarray, folds: np.ndarray, weight: np.ndarray
    ) -> pd.DataFrame:
        """Per time fold, a LightGBM on the factors `X` alone fitted on the other folds; on the
        fold left out, the rise in log loss when each factor is shuffled (folds x factors)."""
        rng = np.random.default_rng(self.random_state + 1)
        groups = {c: [c] for c in X.columns}
        losses = []
        for fold in np.unique(folds):
            train = folds != fold
            if len(np.unique(y[~train])) < 2:
                continue
            model = lgb.LGBMClassifier(**self._params())
            model.fit(X[train], y[train], sample_weight=weight[train])
            rise = self._shuffle_rise(model, X[~train], y[~train], weight[~train], groups, rng)
            losses.append(rise.rename(fold))
        return pd.DataFrame(losses)

    def _l1(self, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray) -> pd.Series:
        rng = np.random.default_rng(self.random_state)
        # On weights of evidence, standardised: the penalty then weighs every attribute alike,
        # and a linear model sees effects that decay or saturate.
        Z = StandardScaler().fit_transform(woe_encode(X, y, self.bins))
        Z = np.nan_to_num(Z)
        # The penalty that keeps about `l1_keep` attributes on the whole data.
        C = self._l1_strength(Z, y, weight)
        kept = np.zeros(X.shape[1])
        n = len(y)
        for _ in range(self.l1_resamples):
            half = rng.choice(n, n // 2, replace=False)
            model = LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=200)
            model.fit(Z[half], y[half], sample_weight=weight[half])
            kept += np.abs(model.coef_[0]) > 1e-8
        return pd.Series(kept / self.l1_resamples, index=X.columns)

    def _l1_strength(self, Z: np.ndarray, y: np.ndarray, weight: np.ndarray) -> float:
        best_C, best_gap = 1.0, np.inf
        for C in np.logspace(-3, 0, 7):
            model = LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=200)
            model.fit(Z, y, sample_weight=weight)
            gap = abs(int((np.abs(model.coef_[0]) > 1e-8).sum()) - self.l1_keep)
            if gap < best_gap:
                best_C, best_gap = C, gap
        return float(best_C)

    # -- fit ------------------------------------------------------------------------------------
    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | np.ndarray,
        folds: pd.Series | np.ndarray,
        sample_weight: pd.Series | np.ndarray | None = None,
    ) -> FactorSelector:
        """Score every attribute and choose the factors.

        Args:
            X: labelled rows x attributes.
            y: 1 where the inspection found a problem.
            folds: the time fold of each row (its round); GBM importance is fitted once per
                fold left out, and its stability measured across them.
            sample_weight: e.g. inverse inclusion probabilities of the draws.
        """
        y = np.asarray(y, dtype=int)
        folds = np.asarray(folds)
        if X.shape[0] != len(y) or len(y) != len(folds):
            raise ValueError("X, y and folds must have the same number of rows")
        if len(np.unique(y)) != 2:
            raise ValueError("y must hold both outcomes (problems found and not)")
        missing = [f for f in self.fixed if f not in X.columns]
        if missing:
            raise ValueError(f"fixed factors not among the attributes: {missing}")
        weight = (
            np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        )
        weight = weight / weight.mean()
        X = X.astype(float)
        usable = [c for c in X.columns if X[c].nunique(dropna=True) > 1 or c in self.fixed]
        Xu = X[usable]
        log.info(
            "scoring %d attributes (%d constant left out)", len(usable), X.shape[1] - len(usable)
        )
        families = pd.Series([(self.families or {}).get(c, c) for c in usable], index=usable)
        iv = self._iv(Xu, y)
        gain, stability, perm = self._gbm(Xu, y, folds, weight, families)
        if perm.empty:
            raise ValueError("no time fold holds both outcomes: permutation importance needs one")
        l1 = self._l1(Xu, y, weight)
        rho = Xu.apply(lambda c: pd.Series(c).corr(pd.Series(y, index=Xu.index), method="spearman"))
        family_rise = perm.mean(axis=0)
        scores = pd.DataFrame(
            {
                "family": families,
                "iv": iv,
                "gbm_gain": gain,
                "gbm_stability": stability,
                "l1_frequency": l1,
                "perm_loss_rise": families.map(family_rise),
                "perm_stability": families.map((perm > 0).mean(axis=0)),
                "direction": np.sign(rho.fillna(0)).astype(int),
                "spearman": rho,
            },
            index=usable,
        )
        scores["rank_iv"] = _ranks(scores["iv"])
        scores["rank_gbm"] = _ranks(scores["gbm_gain"])
        scores["rank_l1"] = _ranks(scores["l1_frequency"] + 1e-6 * scores["iv"])
        # Across families the out-of-sample permutation importance orders; within one, `perm`
        # takes the attribute its models split on most (gain), the consensus the one the three
        # attribute-level methods rank best on average (see the module docstring).
        scores["rank_perm"] = _family_ranks(scores, scores["rank_gbm"])
        scores["consensus"] = _family_ranks(
            scores, scores[["rank_iv", "rank_gbm", "rank_l1"]].mean(axis=1)
        )
        scores = scores.sort_values("consensus")
        self.scores_ = scores
        self.family_importance_ = perm
        self.factors_, self.reasons_, self.confirmation_ = self._confirm(Xu, y, folds, weight)
        self.method_factors_ = {
            m: self._choose(Xu, scores.sort_values(f"rank_{m}").index.tolist())[0] for m in METHODS
        }
        self.n_attributes_ = X.shape[1]
        return self

    def _confirm(
        self, X: pd.DataFrame, y: np.ndarray, folds: np.ndarray, weight: np.ndarray
    ) -> tuple[list[str], dict[str, str], pd.DataFrame]:
        """The consensus choice, confirmed: each factor must add to the other factors on the
        rounds a model of the factors alone did not see (shuffling it raises the log loss on
        average over the left-out rounds). The weakest factor that does
        not is dropped with its family and the next in consensus order takes its place, at
        most `max_swaps` times and only while a candidate is left to take it."""
        order = self.scores_.index.tolist()
        dropped: dict[str, str] = {}
        chosen, reasons = self._choose(X, order)
        rise = self._factor_rise(X[chosen], y, folds, weight)
        for _ in range(self.max_swaps):
            mean = rise.mean()
            weak = [c for c in chosen if c not in self.fixed and mean[c] <= 0]
            if not weak:
                break
            worst = min(weak, key=lambda c: mean[c])
            family = self.scores_.at[worst, "family"]
            why = (
                f"adds nothing to the other factors on left-out rounds (log-loss rise "
                f"{mean[worst]:+.4f}, positive in {int((rise[worst] > 0).sum())} of {len(rise)})"
            )
            after, after_reasons = self._choose(X, order, dropped | {family: why})
            if len(after) < len(chosen):
                log.info("%s adds little, but no candidate is left to replace it", worst)
                break
            log.info("dropping %s: %s", worst, why)
            dropped[family] = why
            chosen, reasons = after, after_reasons
            rise = self._factor_rise(X[chosen], y, folds, weight)
        return chosen, reasons, rise

    def _choose(
        self, X: pd.DataFrame, order: list[str], dropped: dict[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """Factors in `order`: fixed ones first, then one per family, none correlating above
        `max_correlation` with one already chosen, none from a `dropped` family."""
        scores = self.scores_
        dropped = dropped or {}
        chosen: list[str] = list(self.fixed)
        reasons: dict[str, str] = {f: "fixed by policy" for f in self.fixed}
        ranked = X.rank()  # Spearman = Pearson on ranks
        for name in order:
            if len(chosen) >= self.n_factors:
                break
            if name in chosen:
                continue
            if scores.at[name, "iv"] < self.min_iv:
                reasons[name] = f"information value {scores.at[name, 'iv']:.3f} < {self.min_iv}"
                continue
            family = scores.at[name, "family"]
            if family in dropped:
                reasons[name] = f"family {family} {dropped[family]}"
                continue
            twin = next((c for c in chosen if scores.at[c, "family"] == family), None)
            if twin is not None:
                reasons[name] = f"same family ({family}) as {twin}"
                continue
            if chosen:
                corr = ranked[chosen].corrwith(ranked[name]).abs()
                if corr.max() > self.max_correlation:
                    reasons[name] = (
                        f"correlates {corr.max():.2f} with {corr.idxmax()} "
                        f"(> {self.max_correlation})"
                    )
                    continue
            chosen.append(name)
            reasons[name] = "chosen"
        return chosen, reasons

    def get_support(self, names: bool = True) -> list[str] | np.ndarray:
        if not hasattr(self, "factors_"):
            raise RuntimeError("FactorSelector is not fitted: call fit() first")
        if names:
            return list(self.factors_)
        return self.scores_.index.isin(self.factors_)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.get_support() if f not in X.columns]
        if missing:
            raise ValueError(f"the profile lacks factors {missing}")
        return X[self.factors_]


def training_rows(profile: pd.DataFrame, holdout_rounds: int) -> pd.DataFrame:
    """The labelled rows selection may learn from: inspected in a round, the last
    `holdout_rounds` rounds left out (they are kept for the model's evaluation)."""
    rounds = profile["snapshot"] == "round"
    dates = sorted(profile.loc[rounds, "as_of_date"].unique())
    keep = dates[: len(dates) - holdout_rounds] if holdout_rounds else dates
    if len(keep) < 2:
        raise ValueError(
            f"{len(dates)} rounds with {holdout_rounds} held out leave {len(keep)}: "
            "selection needs at least two rounds to learn from (time folds)"
        )
    rows = profile[rounds & profile["inspected"].astype(bool) & profile["as_of_date"].isin(keep)]
    return rows.reset_index(drop=True)


def compare(
    X: pd.DataFrame,
    y: np.ndarray,
    folds: np.ndarray,
    factor_sets: dict[str, list[str]],
    top: float,
    random_state: int = 0,
) -> dict[str, dict]:
    """What each set of factors is worth on the latest training round, learnt on the earlier.

    For each set: AUC of a logistic regression and of a small LightGBM, and the hit rate of the
    LightGBM's top `top` share of the validation round (inspection capacity), beside the round's
    own hit rate (what the random draw found).
    """
    y = np.asarray(y, dtype=int)
    folds = np.asarray(folds)
    last = np.max(folds)
    train, valid = folds != last, folds == last
    k = max(1, round(top * valid.sum()))
    out = {}
    for name, factors in factor_sets.items():
        Xf = X[factors].astype(float)
        logit = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        ).fit(Xf[train], y[train])
        gbm = lgb.LGBMClassifier(
            n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=20,
            verbose=-1, n_jobs=1, random_state=random_state,
        ).fit(Xf[train], y[train])  # fmt: skip
        p_logit = logit.predict_proba(Xf[valid])[:, 1]
        p_gbm = gbm.predict_proba(Xf[valid])[:, 1]
        picked = np.argsort(-p_gbm, kind="stable")[:k]
        both = len(np.unique(y[valid])) == 2  # AUC needs both outcomes in the round
        out[name] = {
            "factors": list(factors),
            "val_auc_logistic": float(roc_auc_score(y[valid], p_logit)) if both else None,
            "val_auc_lightgbm": float(roc_auc_score(y[valid], p_gbm)) if both else None,
            "val_hit_rate_top": float(y[valid][picked].mean()),
            "val_hit_rate_random": float(y[valid].mean()),
        }
    return out


def iv_by_round(rows: pd.DataFrame, factors: list[str], bins: int = 10) -> pd.DataFrame:
    """Information value of each factor within each round: is it stable over time?

    Args:
        rows: labelled profile rows (`as_of_date`, `problem`, the factors).
        factors: the attributes to score.
    Returns:
        factors x as-of dates.
    """
    out = {}
    for date, group in rows.groupby("as_of_date"):
        y = group["problem"].astype(int).to_numpy()
        out[pd.Timestamp(date).date().isoformat()] = {
            f: information_value(group[f], y, bins) for f in factors
        }
    return pd.DataFrame(out).loc[factors]


def selector_from(settings, families: dict[str, str] | None = None) -> FactorSelector:
    """A FactorSelector with the `select` section's criteria (`SelectParams`)."""
    return FactorSelector(
        n_factors=settings.n_factors,
        families=families,
        fixed=tuple(settings.fixed),
        min_iv=settings.min_iv,
        max_correlation=settings.max_correlation,
        bins=settings.bins,
        l1_resamples=settings.l1_resamples,
        l1_keep=settings.l1_keep,
        perm_repeats=settings.perm_repeats,
        max_swaps=settings.max_swaps,
        random_state=settings.seed,
    )


@dataclass(frozen=True)
class Selection:
    """What `run_select` found.

    Attributes:
        selector: the fitted `FactorSelector` (on every training round).
        report: the stage's report (`reports/selection.json`): factors, their details, the
            methods compared out of sample, every compared set's factor families.
    """

    selector: FactorSelector
    report: dict


def run_select(settings, frame: pd.DataFrame, families: dict[str, str]) -> Selection:
    """The `select` stage: the factors chosen from a profile's labelled rounds.

    The comparison of the methods is out of sample: each chooses on the earlier training
    rounds and is judged on the latest. The factors are then chosen on every training round.
    Rows are weighted by `training.rounds.weights` (the one definition every stage uses).

    Args:
        settings: the `select` section (`SelectParams`).
        frame: the profile's round snapshots.
        families: attribute -> family, for every attribute selection may choose.
    """
    from riskdraw.training.rounds import weights

    rows = training_rows(frame, settings.holdout_rounds)
    names = list(families)
    X, y = rows[names], rows["problem"].astype(int).to_numpy()
    folds = rows["as_of_date"].rank(method="dense").astype(int).to_numpy()
    weight = weights(rows)
    early = folds != folds.max()
    log.info("comparing the methods: choosing on the earlier training rounds")
    probe = selector_from(settings, families).fit(
        X[early], y[early], folds[early], sample_weight=weight[early]
    )
    sets = {**probe.method_factors_, "consensus": probe.factors_}
    comparison = compare(X, y, folds, sets, settings.validation_top, settings.seed)
    log.info("scoring %d attributes on %d inspections", len(names), len(rows))
    selector = selector_from(settings, families).fit(X, y, folds, sample_weight=weight)
    chosen = selector.scores_.loc[selector.factors_]
    compared = {f for s in [*sets.values(), selector.factors_] for f in s}
    report = {
        "factors": selector.factors_,
        "attributes": len(names),
        "rows": len(rows),
        "rounds": sorted(str(d.date()) for d in rows["as_of_date"].unique()),
        "details": [
            {
                "name": name,
                "family": r.family,
                "iv": round(float(r.iv), 4),
                "direction": "raises risk" if r.direction > 0 else "lowers risk",
                "gbm_stability": round(float(r.gbm_stability), 3),
                "l1_frequency": round(float(r.l1_frequency), 3),
                "family_loss_rise": round(float(r.perm_loss_rise), 5),
                "loss_rise": round(float(selector.confirmation_[name].mean()), 5),
                "rounds_adding": round(float((selector.confirmation_[name] > 0).mean()), 3),
            }
            for name, r in chosen.iterrows()
        ],
        "methods": comparison,
        "families": {f: families[f] for f in sorted(compared)},
    }
    return Selection(selector=selector, report=report)


def scores_table(selector: FactorSelector) -> pd.DataFrame:
    """Every attribute's scores, whether it was chosen, and why or why not."""
    return selector.scores_.assign(
        chosen=selector.scores_.index.isin(selector.factors_),
        reason=selector.scores_.index.map(selector.reasons_).fillna(""),
    ).rename_axis("attribute")


def _number(value: float | None) -> str:
    """A measure to three places, or n/a where it is undefined (one outcome only)."""
    return "n/a" if value is None else f"{value:.3f}"


def selection_figure(selector: FactorSelector, comparison: dict):
    """The first 30 attributes in consensus order, by each method (the chosen in red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = selector.scores_.head(30).iloc[::-1]
    fig, axes = plt.subplots(1, 5, figsize=(20, 8), sharey=True)
    colours = ["tab:red" if n in selector.factors_ else "tab:gray" for n in top.index]
    for ax, column, title in zip(
        axes,
        ["perm_loss_rise", "iv", "gbm_gain", "gbm_stability", "l1_frequency"],
        ["family shuffled: log-loss rise on the left-out round", "information value",
         "LightGBM gain (mean over folds)", "GBM top-2n stability", "L1 stability selection"],
        strict=True,
    ):  # fmt: skip
        ax.barh(top.index, top[column], color=colours)
        ax.set_title(title, fontsize=10)
    fig.suptitle(
        "The first 30 attributes in consensus order (red: the chosen factors); "
        + ", ".join(f"{k} AUC {_number(v['val_auc_lightgbm'])}" for k, v in comparison.items()),
        fontsize=10,
    )
    fig.tight_layout()
    return fig
