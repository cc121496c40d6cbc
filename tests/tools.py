"""Helpers for tests that need tools outside Python (a browser, Java, Node
packages): outside CI a missing tool skips the test and says how to install it;
in CI (CI=true) it fails, since CI must run every test."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require(condition, what, how):
    if condition:
        return
    message = f"{what} is missing: {how}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_chromium():
    require(
        Path(CHROMIUM).exists(),
        f"Chromium ({CHROMIUM})",
        "install it with `sudo apt-get install chromium` (or run .ci/run, which does)",
    )


def require_axe():
    require(AXE.exists(), "axe-core", "run `npm ci` in the project folder (make test does)")


def require_java():
    require(
        shutil.which("java") is not None,
        "Java",
        "install it with `sudo apt-get install default-jre-headless`",
    )
