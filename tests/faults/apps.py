from __future__ import annotations

import logging
import os
import time
from typing import Any

from django.apps import AppConfig

log = logging.getLogger("orderfactory.factories")


class FaultsConfig(AppConfig):
    name = "tests.faults"
    label = "faults"

    def ready(self) -> None:
        from orderfactory.factories import groups, services

        delay = float(os.environ.get("ORDERFACTORY_FAULT_COPY_DELAY") or 0)
        if not delay:
            return
        build_target = services.build_target

        def stalling(factory: Any, notes: Any) -> Any:
            target = build_target(factory, notes)
            log.warning("fault injection: the copy of %s stalls %.1f s", factory.pk, delay)
            time.sleep(delay)
            return target

        services.build_target = stalling
        groups.build_target = stalling  # a batch's copies, a group at a time
