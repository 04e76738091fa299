"""Results of a double-random inspection (双随机抽查), in the categories that SAMR publishes.

A result either finds a problem (a hit) or does not; the hit rate of a draw is the share of its
inspections whose result is one of `PROBLEM_RESULTS`.
"""

from __future__ import annotations

PROBLEM_RESULTS: tuple[str, ...] = (
    "发现问题，已责令改正",
    "发现问题，待后续处理",
    "通过登记的住所（经营场所）无法联系",
    "不配合检查，情节严重",
)
"""Results that count as finding a problem: found and ordered corrected, found and pending,
cannot be reached at the registered address, refused the inspection."""

CLEAN_RESULTS: tuple[str, ...] = ("未发现问题", "未发现开展本次抽查涉及的经营活动")
"""Results that find nothing: no problem, or none of the activity the draw inspects."""
