from django.apps import AppConfig


class TaxesConfig(AppConfig):
    name = "orderfactory.taxes"
    label = "taxes"

    def ready(self) -> None:
        from orderfactory.taxes import resources  # noqa: F401  (registers the resources)
