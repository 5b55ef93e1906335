"""Codex CLI for the end-to-end tests: npm ``@openai/codex`` at a pinned version, installed once
into the git-ignored ``tests/.node`` (kept between runs), or a visible skip where Node.js or npm
is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CODEX_VERSION = "0.171.0"
NODE_DIR = Path(__file__).resolve().parents[1] / ".node"
BIN = NODE_DIR / "node_modules" / ".bin" / "codex"
PACKAGE = NODE_DIR / "node_modules" / "@openai" / "codex" / "package.json"
INSTALL_SECONDS = 600


def _installed() -> bool:
    try:
        return BIN.exists() and json.loads(PACKAGE.read_text())["version"] == CODEX_VERSION
    except (OSError, ValueError, KeyError):
        return False


def codex_binary() -> Path:
    """The pinned Codex CLI, installed if needed; skips when Node.js or npm is missing."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"Codex CLI tests need Node.js and npm; not found: {', '.join(missing)}")
    if not _installed():
        NODE_DIR.mkdir(exist_ok=True)
        command = ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
                   "--loglevel=error", f"@openai/codex@{CODEX_VERSION}"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False)
        if done.returncode != 0 or not _installed():
            pytest.fail(f"npm could not install @openai/codex@{CODEX_VERSION}:\n{done.stderr[-2000:]}")
    return BIN
