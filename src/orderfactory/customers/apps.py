from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "orderfactory.customers"
    label = "customers"

    def ready(self) -> None:
        from orderfactory.customers import resources  # noqa: F401  (registers the resources)
