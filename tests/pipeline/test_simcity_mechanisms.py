"""Every mechanism acts in every round it precedes, the dishonesty list included.

The serious-dishonesty list follows from three years on the abnormal list; the abnormal list
grows with each round (the unreachable are listed). A city driven by the dishonesty list must
show it in the rounds' violations, and selection must find it there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskdraw.simcity.city import build_world
from riskdraw.simcity.drivers import MECHANISMS
from riskdraw.simcity.rounds import expected_probability, linear_predictor
from tests.conftest import profiled_city, quick_selection, simulate_params

pytestmark = pytest.mark.pipeline

DISHONEST_DRIVERS = [
    {"name": "dishonesty_listed", "effect": 3.0},
    {"name": "age_years", "effect": 0.5},
]


def dishonest_params(entities: int):
    """A city whose violations follow the dishonesty list. A quarter of it is drawn each round,
    and more annual reports go missing than by default, so that more enterprises are listed
    abnormal, then dishonest, and more of those are drawn: a small city then has enough."""
    return simulate_params(
        entities=entities,
        draw_rate=0.25,
        drivers=DISHONEST_DRIVERS,
        interactions=[],
        conduct={"annual_report_missing": 0.15},
    )


def listed_before_round(world) -> pd.Series:
    """Per inspection: was its enterprise on the dishonesty list known before the round's date?"""
    insp = world.events["inspection"]
    listed = world.events["dishonesty_list"]
    on = pd.Series(False, index=insp.index)
    for _, rows in insp.groupby("round"):
        known = listed.loc[listed["known_on"] < rows["round_as_of"].iloc[0], "entity_uid"]
        on[rows.index] = rows["entity_uid"].isin(known)
    return on


def test_the_dishonesty_list_drives_the_rounds_it_precedes():
    world, _ = build_world(dishonest_params(20_000))
    problem = world.events["inspection"]["problem"].to_numpy()
    on = listed_before_round(world).to_numpy()
    n1, n0 = int(on.sum()), int((~on).sum())
    assert n1 >= 100, n1  # enough listed enterprises were drawn to tell
    p1, p0 = problem[on].mean(), problem[~on].mean()
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    # A log-odds effect of 3 takes a ~17% rate to well above half.
    assert p1 > 0.5 and p1 - p0 > 4 * se, (p1, n1, p0, n0)


def test_every_round_saw_every_record_known_before_it():
    """Recomputed from the finished city, each round's knowable probabilities are unchanged:
    no mechanism's records dated before a round were added after it."""
    params = simulate_params(
        entities=2000,
        drivers=[{"name": name, "effect": 0.3} for name in MECHANISMS],
        interactions=[],
    )
    world, truth = build_world(params)
    assert len(world.events["dishonesty_list"]) > 0
    for number, rows in truth[truth["round"] > 0].groupby("round"):
        eta, _ = linear_predictor(world, np.datetime64(params.rounds[number - 1], "D"))
        uid = rows["entity_uid"].to_numpy()
        again = expected_probability(rows["intercept"].iloc[0] + eta[uid], params.latent_sd)
        gap = np.abs(again - rows["p_known"].to_numpy()).max()
        assert gap < 1e-12, (number, gap)


@pytest.fixture(scope="module")
def dishonest_city(tmp_path_factory):
    """A small city driven by the dishonesty list, through ingest, resolve and profile (as
    tests/pipeline/test_other_drivers.py runs its city)."""
    root = tmp_path_factory.mktemp("dishonest-city")
    params = dishonest_params(3000)
    return profiled_city(params, root)


@pytest.mark.slow
def test_selection_finds_the_dishonesty_list_in_a_city_it_drives(dishonest_city):
    frame, families = dishonest_city
    selector = quick_selection(frame, families)
    chosen = {families[f] for f in selector.factors_}
    assert any(f.startswith("dishonesty_list:") for f in chosen), chosen
