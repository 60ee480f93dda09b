from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orderfactory.orders"
    label = "orders"

    def ready(self) -> None:
        from orderfactory.orders import option_resources, resources, shipment_resources  # noqa: F401  (registers the resources)
