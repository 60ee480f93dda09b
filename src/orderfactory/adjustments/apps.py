from django.apps import AppConfig


class AdjustmentsConfig(AppConfig):
    name = "orderfactory.adjustments"
    label = "adjustments"

    def ready(self) -> None:
        from orderfactory.adjustments import resources  # noqa: F401  (registers the resources)
