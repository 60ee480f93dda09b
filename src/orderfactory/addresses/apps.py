from django.apps import AppConfig


class AddressesConfig(AppConfig):
    name = "orderfactory.addresses"
    label = "addresses"

    def ready(self) -> None:
        from orderfactory.addresses import resources  # noqa: F401  (registers the resources)
