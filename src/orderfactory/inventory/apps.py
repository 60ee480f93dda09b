from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "orderfactory.inventory"
    label = "inventory"

    def ready(self) -> None:
        from orderfactory.inventory import resources  # noqa: F401  (registers the resources)
