from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "orderfactory.payments"
    label = "payments"

    def ready(self) -> None:
        from orderfactory.payments import resources  # noqa: F401  (registers the resources)
