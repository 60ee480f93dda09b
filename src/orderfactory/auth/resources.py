"""The caller's own organization and application, served as singletons (GET /api/organization, /api/application)."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderfactory.auth.models import Application, Organization
from orderfactory.core import scope
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Float, Integer, Object, Resource, String

# Organization settings Commerce Layer exposes read-only; ours live in Organization.config with these defaults.
_SETTINGS: tuple[tuple[type, str, Any], ...] = (
    (Boolean, "api_auth_redirect", True),
    (Boolean, "api_rules_engine", False),
    (Integer, "api_rules_engine_max_conditions_size", 150),
    (Integer, "api_rules_engine_max_rules_size", 15),
    (Boolean, "api_new_auth", True),
    (Boolean, "api_purge_single_resource", False),
    (Integer, "api_max_regex_length", 5000),
    (Boolean, "addresses_avs_check", True),
    (Boolean, "addresses_phone_required", True),
    (Boolean, "orders_sales_channel_guest_only", True),
    (Float, "orders_min_rebuild_shipments_lapse", 0),
    (Float, "orders_min_refresh_lapse", 0),
    (Integer, "orders_autorefresh_cutoff_test", 50),
    (Integer, "orders_autorefresh_cutoff_live", 500),
    (Boolean, "orders_number_editable_test", False),
    (Boolean, "orders_number_editable_live", False),
    (Boolean, "orders_number_as_reference", True),
    (Boolean, "orders_invalid_coupon_errors", True),
    (Boolean, "orders_invalid_gift_card_errors", True),
    (Boolean, "orders_validate_shipping_stock", False),
    (Integer, "bundles_max_items_count", 10),
    (Integer, "coupons_min_code_length", 8),
    (Integer, "coupons_max_code_length", 40),
    # Ours match a gift card code exactly, always (docs/decisions.md, "Gift cards"): said as it is.
    (Boolean, "gift_cards_exact_code_matching", True),
    (Integer, "gift_cards_min_code_length", 8),
    (Integer, "gift_cards_max_code_length", 40),
    (Integer, "cleanups_max_concurrent_count", 10),
    (Integer, "exports_max_concurrent_count", 10),
    (Integer, "imports_max_concurrent_count", 10),
    (Boolean, "imports_purge_cache", True),
    (Boolean, "imports_skip_errors", False),
    (Integer, "inventory_models_max_stock_locations_cutoff", 10),
    (Integer, "promotions_max_concurrent_count", 10),
    (Integer, "promotions_max_conditions_size", 150),
    (Integer, "promotions_max_rules_size", 15),
    (Integer, "price_lists_max_conditions_size", 150),
    (Integer, "price_lists_max_rules_size", 15),
    (Integer, "imports_trigger_webhooks", 0),  # integer in resources.json, though its default there is false
    (Boolean, "discount_engines_enabled", False),
    (Boolean, "discount_engines_errors", False),
    (Integer, "tags_max_name_length", 25),
    (Integer, "tags_max_allowed_number", 10),
    (Boolean, "tax_calculators_errors", False),
    (Boolean, "external_promotions_errors", False),
    (Boolean, "external_prices_errors", True),
)


def _setting(kind: type, name: str, default: Any) -> Any:
    return kind(name, "F", compute=lambda row: (row["config"] or {}).get(name, default), depends=("config",))


@registry.register
class OrganizationResource(Resource):
    type = "organization"
    model = Organization
    actions = ("retrieve",)
    sales_channel_actions = ("retrieve",)
    singleton = True
    attributes = (
        String("name", "CUF"),
        String("slug", "F"),
        String("domain", "F"),
        String("support_phone", "CUF"),
        String("support_email", "CUF"),
        String("logo_url", "CUF"),
        String("favicon_url", "CUF"),
        String("primary_color", "CUF"),
        String("gtm_id", "CUF"),
        String("gtm_id_test", "CUF"),
        Object("config", "F"),
        *(_setting(kind, name, default) for kind, name, default in _SETTINGS),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return Organization.objects.filter(pk=scope.current().organization_id)


@registry.register
class ApplicationResource(Resource):
    type = "application"
    model = Application
    actions = ("retrieve",)
    sales_channel_actions = ("retrieve",)
    singleton = True
    audit_trail = False
    attributes = (
        String("name", "CUFf"),
        String(
            "kind",
            "CUFf",
            enum=(
                "dashboard",
                "user",
                "contentful",
                "bundles",
                "customers",
                "datocms",
                "exports",
                "external",
                "generic",
                "gift_cards",
                "imports",
                "integration",
                "inventory",
                "metrics",
                "orders",
                "price_lists",
                "promotions",
                "resources",
                "returns",
                "sales_channel",
                "sanity",
                "shipments",
                "skus",
                "sku_lists",
                "stock_transfers",
                "subscriptions",
                "tags",
                "webapp",
                "webhooks",
                "zapier",
            ),
        ),
        Boolean("public_access", "Ff", compute=lambda row: row["kind"] == "sales_channel", depends=("kind",)),
        String("redirect_uri", "CUF", compute=lambda row: None),
        String("uid", "", compute=lambda row: None),
        String("secret", "", compute=lambda row: None),
        String("scopes", "Ff", compute=lambda row: "market:all", depends=()),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        s = scope.current()
        return Application.objects.filter(pk=s.application_id, organization_id=s.organization_id)
