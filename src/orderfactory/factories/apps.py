from django.apps import AppConfig


class FactoriesConfig(AppConfig):
    name = "orderfactory.factories"
    label = "factories"

    def ready(self) -> None:
        # registers the resources, and batches' counting of their copies' endings (core.hooks)
        from orderfactory.factories import batch_resources, resources  # noqa: F401
