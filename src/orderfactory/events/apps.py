from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "orderfactory.events"
    label = "events"

    def ready(self) -> None:
        # Imported for their side effects: they register the resources and hooks.
        import orderfactory.events.resources  # noqa: F401
        import orderfactory.events.services  # noqa: F401
