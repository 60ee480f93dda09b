from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "orderfactory.subscriptions"
    label = "subscriptions"

    def ready(self) -> None:
        # Imported for their side effects: they register the resources, and the reactions to the events of
        # orders (a cancelled source) and factories (a run's attempt that ended).
        from orderfactory.subscriptions import resources, services  # noqa: F401
