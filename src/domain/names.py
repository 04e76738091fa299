"""Enterprise names as registered and as typed into other departments' records.

The same enterprise shows up as "佛山市顺德区美的电器（集团）有限责任公司" in one file and
"佛山市顺德区美的电器(集团)有限公司" in another: full-width versus half-width characters,
stray spaces, different brackets and interchangeable spellings of the legal form. Matching
records across departments starts from one normalised spelling, defined here.
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

import numpy as np
import pandas as pd

LEGAL_FORMS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        # Checked longest variant first, so "股份有限公司" wins over "有限公司".
        "股份有限公司": ("股份有限公司", "股份公司"),
        "有限公司": ("有限责任公司", "有限公司", "责任有限公司"),
        "分公司": ("分公司",),
        "个人独资企业": ("个人独资企业",),
        "合伙企业(有限合伙)": (
            "合伙企业（有限合伙）",
            "合伙企业(有限合伙)",
            "（有限合伙）",
            "(有限合伙)",
            "有限合伙企业",
        ),
        "合伙企业(普通合伙)": (
            "合伙企业（普通合伙）",
            "合伙企业(普通合伙)",
            "（普通合伙）",
            "(普通合伙)",
            "普通合伙企业",
        ),
        "农民专业合作社": ("农民专业合作社", "专业合作社", "合作社"),
        "个体工商户": ("个体工商户", "个体户"),
    }
)
"""Canonical legal-form suffix -> spellings seen in records (canonical spelling included).

有限责任公司 and 有限公司 are one form (canonical 有限公司). Individual businesses
(个体工商户) usually carry only a trade name such as "佛山市禅城区张记餐饮店", or no name at all,
so the suffix is rare for them; a bare 合作社 counts as a farmers' cooperative unless it is a
股份经济合作社, 经济合作社, 供销合作社 or 信用合作社 (rural collectives, supply and marketing
co-ops and credit co-ops are other kinds of body)."""

# Two-character prefixes before 合作社 that mark another kind of body than 农民专业合作社.
_COOP_LOOKALIKES = ("经济", "供销", "信用")

# Full-width ASCII (U+FF01..U+FF5E) is half-width ASCII shifted by 0xFEE0; U+3000 is a space.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# ASCII letters, digits and brackets, the characters a Chinese input method types full-width.
_FULLWIDTH_SOURCE = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz()[]{}"
_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in _FULLWIDTH_SOURCE}
_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")"})
_UPPER = str.maketrans({c: c.upper() for c in "abcdefghijklmnopqrstuvwxyz"})
# \s covers ASCII and Unicode spaces; zero-width characters and the BOM are invisible in Excel.
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def _suffix_table() -> tuple[re.Pattern[str], dict[str, str], dict[str, str]]:
    """Regex matching a legal-form spelling at the end of a normalised name, its replacement,
    and the ``LEGAL_FORMS`` key it stands for.

    Spellings are normalised (NFKC, brackets) like names are; a plain form may also appear in
    brackets ("张三(个体户)"), which keeps its brackets around the canonical form.
    """
    replacement: dict[str, str] = {}
    form: dict[str, str] = {}
    for canonical, variants in LEGAL_FORMS.items():
        for variant in variants:
            spelled = unicodedata.normalize("NFKC", variant).translate(_BRACKETS)
            replacement[spelled], form[spelled] = canonical, canonical
            if "(" not in spelled:
                bracketed = f"({spelled})"
                replacement[bracketed], form[bracketed] = f"({canonical})", canonical
    alternatives = []
    for spelled in sorted(replacement, key=len, reverse=True):
        guard = "".join(f"(?<!{p})" for p in _COOP_LOOKALIKES) if spelled == "合作社" else ""
        alternatives.append(guard + re.escape(spelled))
    return re.compile("(?:" + "|".join(alternatives) + r")$"), replacement, form


_SUFFIX, _REPLACEMENT, _FORM = _suffix_table()


def to_halfwidth(s: str) -> str:
    """Full-width ASCII (U+FF01..U+FF5E) and the ideographic space (U+3000) to half-width."""
    return s.translate(_HALFWIDTH)


def to_fullwidth(s: str) -> str:
    """ASCII letters, digits and brackets ()[]{} to their full-width forms; the rest unchanged.

    The inverse of ``to_halfwidth`` on those characters, used to make records look typed on a
    Chinese input method.
    """
    return s.translate(_FULLWIDTH)


def halfwidth_series(s: pd.Series) -> pd.Series:
    """Vectorised ``to_halfwidth`` over a Series of str; missing values stay missing."""
    return s.str.translate(_HALFWIDTH)


def normalise_name(name: str) -> str:
    """One spelling per enterprise name, for matching records across departments.

    Rules, in order:

    1. Unicode NFKC: full-width letters, digits and brackets become half-width (（） -> ()).
    2. Remove all whitespace, including full-width spaces, zero-width characters and the BOM.
    3. Unify brackets: 【】, [] and 〔〕 become ().
    4. Upper-case Latin letters (a-z only; Chinese is untouched).
    5. "有限责任公司" anywhere becomes "有限公司", so a branch's parent matches too.
    6. Canonicalise the legal-form suffix by ``LEGAL_FORMS`` (股份公司 -> 股份有限公司,
       (有限合伙) -> 合伙企业(有限合伙), 专业合作社 -> 农民专业合作社, ...).

    Raises:
        TypeError: ``name`` is not a str.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    text = unicodedata.normalize("NFKC", name)
    text = _INVISIBLE.sub("", text).translate(_BRACKETS).translate(_UPPER)
    text = text.replace("有限责任公司", "有限公司")
    return _SUFFIX.sub(lambda m: _REPLACEMENT[m.group(0)], text, count=1)


def normalise_names(s: pd.Series) -> pd.Series:
    """Vectorised ``normalise_name``: each distinct name is normalised once; NaN stays NaN.

    Records repeat names many times, so working on distinct values is what makes this fast,
    and it applies exactly the scalar rules.

    Raises:
        TypeError: a non-missing value is not a str.
    """
    codes, uniques = pd.factorize(s)
    normalised = [normalise_name(name) for name in uniques]
    table = np.array([*normalised, np.nan], dtype=object)  # code -1 (missing) picks the NaN
    return pd.Series(table[codes], index=s.index, name=s.name, dtype=object)


def legal_form_of(name: str) -> str | None:
    """Canonical legal form (a key of ``LEGAL_FORMS``) of a name's suffix, or None.

    Only an explicit suffix counts: a trade name such as "佛山市禅城区张记餐饮店" returns None,
    because 店 is used alike by individual businesses, sole proprietorships and branch shops.
    """
    match = _SUFFIX.search(normalise_name(name))
    return None if match is None else _FORM[match.group(0)]
