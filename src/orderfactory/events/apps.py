from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "orderfactory.events"
    label = "events"

    def ready(self) -> None:
        from orderfactory.events import resources, services  # noqa: F401  (registers resources and hooks)
