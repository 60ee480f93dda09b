from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "orderfactory.core"
    label = "core"

    def ready(self) -> None:
        from orderfactory import cache
        from orderfactory.core import sqlite  # noqa: F401  (registers SQLite functions)

        cache.install()
