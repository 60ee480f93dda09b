from django.apps import AppConfig


class FactoriesConfig(AppConfig):
    name = "orderfactory.factories"
    label = "factories"

    def ready(self) -> None:
        from orderfactory.factories import resources  # noqa: F401  (registers the resources)
