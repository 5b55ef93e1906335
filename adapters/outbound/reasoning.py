"""One scale between OpenAI's ``reasoning_effort`` and Anthropic's thinking ``budget_tokens``."""

from __future__ import annotations

MIN_BUDGET = 1024  # Anthropic's smallest thinking budget

_EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}


def effort_to_budget(effort: str) -> int:
    """Budget tokens for an OpenAI effort; unknown efforts are treated as ``medium``."""
    return _EFFORT_BUDGET.get(effort, _EFFORT_BUDGET["medium"])


def budget_to_effort(budget: int) -> str:
    """The OpenAI effort closest to a budget (``low``/``medium``/``high``: the ones every
    OpenAI-compatible reasoning server accepts)."""
    if budget < 4096:
        return "low"
    if budget < 16384:
        return "medium"
    return "high"
