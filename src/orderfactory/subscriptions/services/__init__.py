"""Order subscriptions: making them (``making``), changing them (``changes``), the rules they keep
(``rules``), what they are made of (``setup``: subscription models and items), the scheduler that starts and
follows their runs (``scheduler``) and the preview of the runs to come (``preview``). The names other code
calls are here."""

from orderfactory.subscriptions.frequencies import frequency_problems, line_frequency_problems
from orderfactory.subscriptions.services.changes import cancel_for_source_order, update
from orderfactory.subscriptions.services.making import create_from_order, create_manual
from orderfactory.subscriptions.services.preview import Projection, preview, projections
from orderfactory.subscriptions.services.rules import policy
from orderfactory.subscriptions.services.scheduler import failure_kind, renewal_alerts, tick
from orderfactory.subscriptions.services.setup import save_item, save_subscription_model

__all__ = [
    "Projection",
    "cancel_for_source_order",
    "create_from_order",
    "create_manual",
    "failure_kind",
    "frequency_problems",
    "line_frequency_problems",
    "policy",
    "preview",
    "projections",
    "renewal_alerts",
    "save_item",
    "save_subscription_model",
    "tick",
    "update",
]
