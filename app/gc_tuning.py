"""The garbage collector's settings for a long-lived worker (set once, after start-up)."""

from __future__ import annotations

import gc
import os


def tune_gc() -> None:
    """Placeholder while measuring."""
    spec = os.environ.get("HELD_GC")
    if spec:
        gc.set_threshold(*(int(part) for part in spec.split(",")))
    if os.environ.get("HELD_FREEZE"):
        gc.collect()
        gc.freeze()
