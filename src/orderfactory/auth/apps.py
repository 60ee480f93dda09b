from django.apps import AppConfig


class AuthConfig(AppConfig):
    name = "orderfactory.auth"
    label = "oauth"  # not "auth": that label belongs to django.contrib.auth
    verbose_name = "Organizations, applications and tokens"

    def ready(self) -> None:
        from orderfactory.auth import resources  # noqa: F401  (registers the singletons)
