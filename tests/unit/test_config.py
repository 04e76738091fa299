"""params.yaml is validated before any compute; errors name the file, section and key."""

from __future__ import annotations

import pytest

from riskdraw.config import ConfigError, load_section
from tests.conftest import PARAMS


def test_the_project_params_are_valid():
    params = load_section("simulate", PARAMS)
    assert params.entities == 20_000
    assert len(params.drivers) == 12
    assert params.random_hit_rate == pytest.approx(0.176)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"entities": 0}, r"simulate\.entities: Input should be greater than 0"),
        ({"mess": {"fullwidth": 2}}, r"simulate\.mess\.fullwidth: Input should be less than"),
        ({"draw_rate": "many"}, r"simulate\.draw_rate: Input should be a valid number"),
        ({"colour": "red"}, r"simulate\.colour: Extra inputs are not permitted"),
        ({"rounds": ["2021-09-01", "2020-09-01"]}, r"rounds must be strictly increasing"),
        ({"rounds": ["2030-01-01"]}, r"rounds must fall inside the history window"),
        ({"planned_rounds": [8]}, r"planned_rounds must be between 1 and 7"),
        ({"planned_rounds": [3]}, r"planned_rounds must be the last rounds"),
        (
            {"planned_rounds": [7], "targeted_rounds": [7]},
            r"a round is either targeted by the simulator or planned, not both",
        ),
        (
            {"interactions": [{"drivers": ["age_years", "moon_phase"], "effect": 1}]},
            r"interaction names 'moon_phase', which is not a driver",
        ),
    ],
)
def test_bad_values_are_rejected_naming_section_and_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_section("simulate", PARAMS, **overrides)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("simulate:\n  entities: -3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"params\.yaml: simulate\.entities"):
        load_section("simulate", bad)
    with pytest.raises(ConfigError, match=r"section 'evaluate' is missing|unknown section"):
        load_section("evaluate", bad)


def test_an_override_file_is_merged_over_the_section(tmp_path):
    other = tmp_path / "other-city.yaml"
    other.write_text(
        "simulate:\n  seed: 99\n  mess: {fullwidth: 0.5}\n"
        "  drivers: [{name: utility_arrears_365, effect: 2.0}]\n  interactions: []\n",
        encoding="utf-8",
    )
    params = load_section("simulate", PARAMS, other)
    assert params.seed == 99
    assert params.mess.fullwidth == 0.5
    assert params.mess.name_typo == load_section("simulate", PARAMS).mess.name_typo
    assert [d.name for d in params.drivers] == ["utility_arrears_365"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rounds": ["2026-03-01", "2025-09-01"]}, r"rounds must be strictly increasing"),
        ({"arms": ["none", "none"]}, r"an arm named twice"),
        ({"arms": ["halfway"]}, r"simulate_rounds\.arms\.0: Input should be"),
        ({"after_days": 0}, r"simulate_rounds\.after_days: Input should be greater than"),
    ],
)
def test_the_rounds_loop_refuses_bad_rounds_and_arms(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_section("simulate_rounds", PARAMS, **overrides)
