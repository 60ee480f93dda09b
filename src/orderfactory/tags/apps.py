from django.apps import AppConfig


class TagsConfig(AppConfig):
    name = "orderfactory.tags"
    label = "tags"

    def ready(self) -> None:
        from orderfactory.tags import resources  # noqa: F401  (registers the resources)
