"""orderfactory's settings, with the fault-injecting app (tests.faults.apps) installed."""

from orderfactory.settings import *  # noqa: F403
from orderfactory.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.faults.apps.FaultsConfig"]
