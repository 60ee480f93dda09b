"""orderfactory's settings with bench/ceiling_urls.py as the URL configuration: bench/api_read.py starts
``orderfactory serve`` with ``DJANGO_SETTINGS_MODULE=ceiling_settings`` and bench/ on its ``PYTHONPATH``."""

from orderfactory.settings import *  # noqa: F403

ROOT_URLCONF = "ceiling_urls"
