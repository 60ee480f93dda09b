from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "orderfactory.console"
    label = "console"
    verbose_name = "Operator console"
