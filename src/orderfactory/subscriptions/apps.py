from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "orderfactory.subscriptions"
    label = "subscriptions"

    def ready(self) -> None:
        from orderfactory.subscriptions import resources, services  # noqa: F401  (registers the resources)

        services.register()
