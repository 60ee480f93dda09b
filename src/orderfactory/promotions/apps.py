from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "orderfactory.promotions"
    label = "promotions"

    def ready(self) -> None:
        from orderfactory.promotions import external_resources, flex_resources, resources  # noqa: F401  (registers the resources)
