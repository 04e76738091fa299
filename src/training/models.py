"""The risk model and the baselines it is compared with.

- `RiskModel`: a LightGBM on the factors whose probabilities are calibrated (isotonic) on a
  round later than the rounds it was fitted on: a probability of 0.6 then means that six in ten
  such enterprises were found with a problem.
- `RuleScorecard`: the points-based rules provinces publish (points per record, capped), as
  policy writes them in `params.yaml`; it learns nothing but how points map to a probability.
- `logistic_model`, `lightgbm_model`: the plain learners the comparison also runs.

Every model here follows scikit-learn's contract (`fit`, `predict_proba`).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted


def lightgbm_model(params: dict | None = None, seed: int = 0) -> lgb.LGBMClassifier:
    """A LightGBM classifier; one thread (a few thousand rows: two threads cost more)."""
    base = {"verbose": -1, "n_jobs": 1, "random_state": seed}
    return lgb.LGBMClassifier(**(base | (params or {})))


class LogisticFactors(ClassifierMixin, BaseEstimator):
    """Logistic regression on standardised factors, unknown values imputed by the median; the
    sample weights reach the regression."""

    def fit(self, X, y, sample_weight: np.ndarray | None = None) -> LogisticFactors:
        self.pipeline_ = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=2000),
        ).fit(X, y, logisticregression__sample_weight=sample_weight)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(X)


def logistic_model() -> LogisticFactors:
    """Logistic regression on the standardised factors (see `LogisticFactors`)."""
    return LogisticFactors()


class RuleScorecard(ClassifierMixin, BaseEstimator):
    """Points per record, as provinces score credit risk: for each attribute,
    `points * value / per`, at most `cap`; the sum is the score.

    Args:
        rules: attribute -> {"points": ..., "per": 1, "cap": ...}; with "below": b, the
            points go to values under b instead (e.g. years in existence below 1).

    `fit` checks the attributes and maps points to a probability with a one-variable logistic
    regression (the rules rank; the data only say what a point is worth).
    """

    def __init__(self, rules: dict[str, dict]) -> None:
        self.rules = rules

    def points(self, X: pd.DataFrame) -> np.ndarray:
        missing = [a for a in self.rules if a not in X.columns]
        if missing:
            raise ValueError(f"the scorecard's attributes are missing from the profile: {missing}")
        total = np.zeros(len(X))
        for name, rule in self.rules.items():
            value = X[name].to_numpy(dtype=float)
            if "below" in rule:  # a flag: the value is under a bound (e.g. young enterprises)
                value = (value < rule["below"]).astype(float)
            earned = rule["points"] * np.nan_to_num(value) / rule.get("per", 1)
            total += np.minimum(earned, rule.get("cap", np.inf))
        return total

    def fit(self, X: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None = None):
        self.link_ = LogisticRegression().fit(
            self.points(X).reshape(-1, 1), np.asarray(y), sample_weight=sample_weight
        )
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "link_")
        return self.link_.predict_proba(self.points(X).reshape(-1, 1))


class RiskModel(ClassifierMixin, BaseEstimator):
    """A learner on the factors, its probabilities calibrated on rounds later than it was
    fitted on.

    `fit` is cross-fitted over time: for each of the latest `calibration_rounds` rounds in X, a
    copy of the learner fitted on the earlier rounds scores that round; an isotonic map from
    those out-of-time scores to the outcomes is the calibration. The learner itself is then
    fitted on every round, so the latest inspections shape the ranking too (the map, learned on
    learners with a little less data, stays close: the tree ensemble's parameters are the same).

    Args:
        estimator: the (unfitted) learner, e.g. `lightgbm_model(best_params)`.
        factors: the columns it reads, in order; a profile without one of them is an error.
        calibration_rounds: how many of the latest rounds are scored out of time for the map.
    """

    def __init__(self, estimator, factors: list[str], calibration_rounds: int = 3) -> None:
        self.estimator = estimator
        self.factors = factors
        self.calibration_rounds = calibration_rounds

    def _matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.factors if f not in X.columns]
        if missing:
            raise ValueError(f"the profile lacks the model's factors {missing}")
        return X[list(self.factors)].astype(float)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        rounds: np.ndarray,
    ) -> RiskModel:
        """Fit the calibration out of time, then the learner on all of (X, y).

        Args:
            X, y, sample_weight: the inspected of every training round, their outcomes and
                weights (inverse inclusion probabilities).
            rounds: each row's round (as-of date); at least two distinct rounds.
        """
        rounds = np.asarray(rounds)
        y = np.asarray(y, dtype=int)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        dates = np.unique(rounds)
        if len(dates) < 2:
            raise ValueError("calibration needs a round later than the rounds a model is fitted on")
        later = dates[max(1, len(dates) - self.calibration_rounds) :]
        scores, outcomes, weights = [], [], []
        for r in later:
            before, on = rounds < r, rounds == r
            learner = clone(self.estimator).fit(
                self._matrix(X[before]), y[before], sample_weight=w[before]
            )
            scores.append(learner.predict_proba(self._matrix(X[on]))[:, 1])
            outcomes.append(y[on])
            weights.append(w[on])
        self.calibrator_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            np.concatenate(scores), np.concatenate(outcomes).astype(float), np.concatenate(weights)
        )
        self.calibrated_on_ = [pd.Timestamp(r) for r in later]
        self.out_of_time_ = (
            self.calibrator_.predict(np.concatenate(scores)),
            np.concatenate(outcomes),
            np.concatenate(weights),
        )
        self.estimator_ = clone(self.estimator).fit(self._matrix(X), y, sample_weight=w)
        self.classes_ = np.array([0, 1])
        return self

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """The learner's own (uncalibrated) probability: finer ranks than the calibrated one,
        whose isotonic steps tie many enterprises."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(self._matrix(X))[:, 1]

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """The calibrated probability of the learner's own scores (`raw_score`)."""
        check_is_fitted(self, "calibrator_")
        return self.calibrator_.predict(raw)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrate(self.raw_score(X))
        return np.column_stack([1 - p, p])

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Each factor's contribution to each row's log-odds (LightGBM's TreeSHAP; the bias
        term left out): rows x factors, in the order of `factors`."""
        check_is_fitted(self, "estimator_")
        if not isinstance(self.estimator_, lgb.LGBMClassifier):
            raise TypeError(f"contributions need a LightGBM learner, not {type(self.estimator_)}")
        return self.estimator_.predict(self._matrix(X), pred_contrib=True)[:, :-1]
