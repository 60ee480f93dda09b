"""Fault injection for tests that kill a real worker mid-copy: a process started with
``ORDERFACTORY_FAULT_COPY_DELAY=<seconds>`` and ``environment()``'s settings stalls that long inside each
copy's transaction once the target's rows are built (written, or held by a group of copies) (tests/test_worker.py, tests/test_database_restart.py).
The product knows nothing of it."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DELAY = "ORDERFACTORY_FAULT_COPY_DELAY"


def environment(env: dict[str, str]) -> dict[str, str]:
    """A subprocess's environment ``env``, set up to inject the faults it asks for (as it is when none)."""
    if DELAY not in env:
        return env
    path = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(ROOT)]))
    return {**env, "DJANGO_SETTINGS_MODULE": "tests.faults.settings", "PYTHONPATH": path}
