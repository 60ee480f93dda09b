from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "orderfactory.catalog"
    label = "catalog"

    def ready(self) -> None:
        from orderfactory.catalog import bundle_resources, resources, shipping_resources  # noqa: F401  (registers the resources)
