"""The server worker's GC settings: applied once, after start-up (in a child process: they are
process-wide)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CONFIG = """
apps: [{name: o, frontdoor: openai, path: /openai}]
providers: [{name: oa, type: openai, api_key: k, base_url: "http://127.0.0.1:9/v1"}]
routing: {default_provider: oa}
"""
PROBE = """
import gc, os
from app.gc_tuning import THRESHOLDS
assert gc.get_threshold() != THRESHOLDS and gc.get_freeze_count() == 0
from app.asgi import from_env
from_env()
frozen = gc.get_freeze_count()
print(gc.get_threshold() == THRESHOLDS, frozen > 10_000)
from app.gc_tuning import tune_gc
tune_gc((700, 10, 10))  # a second call (a reload) changes nothing and freezes nothing more
print(gc.get_threshold() == THRESHOLDS, gc.get_freeze_count() == frozen)
"""


def test_the_server_factory_freezes_start_up_and_sets_the_thresholds_once(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_CONFIG": str(config), "GATEWAY_STATE_FILE": str(tmp_path / "s.db")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True", "True", "True"]
