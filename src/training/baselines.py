"""What the tuned model is compared with, on the same validation folds and measures.

- `random draw`: every enterprise alike (the double-random draw as it is: its hit rate is the
  round's own);
- `rule scorecard`: the provincial points rules of `tune.scorecard`;
- `logistic (n factors)`: logistic regression on the factors;
- `LightGBM (all attributes)`: LightGBM with default parameters on every attribute;
- `LightGBM (n factors)`: LightGBM with default parameters on the factors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sklearn.dummy import DummyClassifier

from .models import RuleScorecard, lightgbm_model, logistic_model


@dataclass(frozen=True)
class Baseline:
    name: str
    make: Callable[[], object]
    columns: list[str]


def baselines(
    factors: list[str], attributes: list[str], scorecard: dict[str, dict], seed: int
) -> list[Baseline]:
    """The baselines, each with the columns it reads."""
    n = len(factors)
    rules = [Baseline("rule scorecard", lambda: RuleScorecard(scorecard), list(scorecard))]
    return [
        Baseline("random draw", lambda: DummyClassifier(strategy="prior"), factors[:1]),
        *(rules if scorecard else []),  # a city with no rules of its own has no scorecard
        Baseline(f"logistic ({n} factors)", logistic_model, factors),
        Baseline("LightGBM (all attributes)", lambda: lightgbm_model(seed=seed), attributes),
        Baseline(f"LightGBM ({n} factors)", lambda: lightgbm_model(seed=seed), factors),
    ]
