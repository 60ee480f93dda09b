"""Application kinds: the two API credential kinds, and the kinds of Commerce Layer's dashboard apps.

A dashboard app (github.com/commercelayer/dashboard-apps: subscriptions, orders, ...) accepts only a token
whose ``application.kind`` is its own kind, and asks ``GET /oauth/tokeninfo`` what the token may do. Here an
application of a dashboard kind has an integration's access (docs/auth.md, "Dashboard kinds"): the kind names
the app the token is meant for, not what it may do. No Django import: the CLI reads this before set-up.
"""

from __future__ import annotations

INTEGRATION = "integration"
SALES_CHANNEL = "sales_channel"

# The kinds of the open-source dashboard apps, as their TokenProvider and Commerce Layer's application
# ``kind`` enum spell them, with the name Commerce Layer shows for each; ``generic`` is the kind of an app of
# one's own built on the same elements (the repository's my_sample_app).
DASHBOARD_APPS = {
    "bundles": "Bundles",
    "customers": "Customers",
    "exports": "Exports",
    "gift_cards": "Gift cards",
    "imports": "Imports",
    "inventory": "Inventory",
    "orders": "Orders",
    "price_lists": "Price lists",
    "promotions": "Promotions",
    "returns": "Returns",
    "shipments": "Shipments",
    "sku_lists": "SKU lists",
    "skus": "SKUs",
    "stock_transfers": "Stock transfers",
    "subscriptions": "Subscriptions",
    "tags": "Tags",
    "webhooks": "Webhooks",
    "generic": "Generic",
}

KINDS = (INTEGRATION, SALES_CHANNEL, *DASHBOARD_APPS)
