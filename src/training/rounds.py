"""Splits by time: which inspection rounds a model learns from, is calibrated and validated on,
and which it never sees.

The profile holds one snapshot per inspection round (every enterprise open at its as-of date,
the inspected ones labelled) and one at the screening date. The last `holdout_rounds` rounds
are held out: only `riskdraw evaluate` reads them. Of the training rounds, tuning validates on
the latest `validation_rounds` (each fitted on the rounds before it: rolling origin); the final
model is fitted on every training round, its calibration learned from the scores each of the
latest rounds gets from a model fitted on the rounds before it (`models.RiskModel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RoundSplit:
    """The labelled rounds of a profile, oldest first, split by time.

    Attributes:
        training: rounds tune and train may read.
        holdout: rounds only evaluate reads.
    """

    training: tuple[pd.Timestamp, ...]
    holdout: tuple[pd.Timestamp, ...]

    @classmethod
    def of(cls, profile: pd.DataFrame, holdout_rounds: int) -> RoundSplit:
        rounds = profile.loc[profile["snapshot"] == "round", "as_of_date"].unique()
        dates = sorted(pd.to_datetime(rounds))
        if len(dates) < holdout_rounds + 2:
            raise ValueError(
                f"{len(dates)} labelled rounds with {holdout_rounds} held out leave fewer than "
                "two to learn from: a model needs one round to fit and a later one to calibrate"
            )
        cut = len(dates) - holdout_rounds
        return cls(tuple(dates[:cut]), tuple(dates[cut:]))

    def validation_folds(self, n: int) -> list[tuple[tuple[pd.Timestamp, ...], pd.Timestamp]]:
        """Rolling origin over the latest `n` training rounds: (rounds to fit on, round to
        validate on), each validation round later than every round it is fitted on."""
        n = min(n, len(self.training) - 1)
        last = len(self.training)
        return [(self.training[:i], self.training[i]) for i in range(last - n, last)]


def inspected(profile: pd.DataFrame, rounds: tuple[pd.Timestamp, ...] | list) -> pd.DataFrame:
    """The labelled rows of `rounds`: the enterprises their draws inspected."""
    keep = profile["as_of_date"].isin(list(rounds)) & (profile["snapshot"] == "round")
    return profile[keep & profile["inspected"].astype(bool)].reset_index(drop=True)


def population(profile: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every enterprise of one snapshot (open at the date, or inspected in its round)."""
    return profile[profile["as_of_date"] == as_of].reset_index(drop=True)


def weights(rows: pd.DataFrame) -> np.ndarray:
    """Each inspection's weight in learning: the inverse of its inclusion probability, scaled
    to mean 1 (so that a targeted draw does not teach a model its own targeting, and the scale
    of a round's draw rate does not reach penalties or minimum leaf weights). Selection,
    tuning, training and every city use this one definition."""
    w = 1.0 / rows["inclusion_probability"].to_numpy(dtype=float)
    return w / w.mean()
