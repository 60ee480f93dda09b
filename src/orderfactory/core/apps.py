from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "orderfactory.core"
    label = "core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from orderfactory import cache
        from orderfactory.core import planner, sqlite  # noqa: F401  (sqlite registers SQLite functions)

        cache.install()
        post_migrate.connect(planner.tell, sender=self, dispatch_uid="orderfactory-planner")
