"""Driving the playground's page in a real browser (its browser tests and
``bench/playground_screenshots.py``): finding Chromium and waiting on the page's state."""

from __future__ import annotations

import os
import shutil
import time
from typing import Callable


def find_chromium() -> str:
    """The Chromium executable: ``$PINNBILO_CHROMIUM``, else the first of chromium,
    chromium-browser and google-chrome on the PATH; '' when there is none."""
    for cand in (os.environ.get("PINNBILO_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if cand and shutil.which(cand):
            return str(shutil.which(cand))
    return ""


def wait_for(cond: Callable[[], object], timeout: float, what: str) -> object:
    """cond()'s first true value, polled every 0.1 s; TimeoutError naming ``what`` after
    ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
