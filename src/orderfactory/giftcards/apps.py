from django.apps import AppConfig


class GiftCardsConfig(AppConfig):
    name = "orderfactory.giftcards"
    label = "giftcards"

    def ready(self) -> None:
        from orderfactory.giftcards import resources  # noqa: F401  (registers the resources)
