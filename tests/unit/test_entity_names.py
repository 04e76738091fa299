"""Core names and the name linker, on inline names."""

from __future__ import annotations

import pandas as pd
import pytest

from riskdraw.entities.names import NameLinker, core_names


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("佛山市顺德区美华电器有限公司", "美华电器有限公司"),
        ("美华电器（佛山）有限责任公司", "美华电器有限公司"),
        ("广东美华 电器有限公司", "美华电器有限公司"),
        ("佛山市禅城区老陈餐饮店", "老陈餐饮店"),
    ],
)
def test_core_names_drop_place_words_and_spelling(name, core):
    assert core_names(pd.Series([name])).iat[0] == core


def _linker():
    names = pd.Series(
        [
            "佛山市顺德区美华电器有限公司",
            "佛山市南海区美华电器有限公司",
            "佛山市禅城区宏达五金有限公司",
            "佛山市高明区锦程餐饮有限公司",
        ]
    )
    return NameLinker(threshold=0.85, margin=0.04).fit(names, pd.Series(["E1", "E2", "E3", "E4"]))


def test_exact_fuzzy_ambiguous_and_unmatched():
    linker = _linker()
    out = linker.transform(
        pd.Series(
            [
                "佛山市顺德区美华电器有限责任公司",  # full name, other legal-form spelling: exact
                "宏达五金（佛山）有限公司",  # core name: exact
                "佛山市高明区锦程餐钦有限公司",  # one character mistyped: fuzzy
                "美华电器有限公司",  # core shared by two districts' enterprises
                "佛山市三水区星月科技有限公司",  # nobody we know
            ]
        )
    )
    assert out["entity_id"].tolist()[:3] == ["E1", "E3", "E4"]
    assert out["method"].tolist() == [
        "name_exact",
        "name_exact",
        "name_fuzzy",
        "name_ambiguous",
        "unmatched",
    ]
    assert 0.85 <= out["score"].iat[2] < 1.0
    assert out["entity_id"].iloc[3:].isna().all()


def test_unfitted_linker_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        NameLinker().transform(pd.Series(["x"]))
