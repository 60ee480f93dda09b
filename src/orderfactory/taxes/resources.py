"""The tax_calculators (the polymorphic, read-only list), manual_tax_calculators, external_tax_calculators,
tax_rules and tax_categories resources.

The calculators share one table (models.TaxCalculator, as Commerce Layer's single-table ``TaxCalculator``):
each typed resource lists the rows of its type; ``tax_calculators`` lists them all, each naming its own type
in its ``type`` attribute. Avalara, Stripe Tax, TaxJar and Vertex accounts are third-party services and are
not served (docs/compatibility.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from orderfactory.catalog.resources import ServiceResource
from orderfactory.core.models import InTenant
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Array,
    Boolean,
    Float,
    Integer,
    Object,
    Payload,
    Resource,
    String,
    ToMany,
    ToOne,
)
from orderfactory.taxes import services
from orderfactory.taxes.models import (
    EXTERNAL,
    MANUAL,
    SERVED_TYPES,
    TAX_CALCULATOR_TYPES,
    TaxCalculator,
    TaxCategory,
    TaxRule,
)


def triggered(payload: Payload, name: str) -> bool:
    return payload.triggers.get(name) is True


def calculator_attributes() -> tuple[Any, ...]:
    return (
        String("name", "CUFfs", required=True),
        String("type", "Ffs", enum=TAX_CALCULATOR_TYPES),
    )


# The markets a calculator taxes (markets.tax_calculator_id; ids are unique across types).
MARKETS = ToMany("markets", "markets", "", reverse="tax_calculator_id")


class TypedCalculatorResource(Resource):
    """The calculators of one type."""

    model = TaxCalculator
    has_events = True
    calculator_type: ClassVar[str]
    scope_only_queryset = True  # narrows by its type, a constant

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().filter(type=cls.calculator_type)


@registry.register
class TaxCalculatorResource(Resource):
    type = "tax_calculators"
    model = TaxCalculator
    actions = ("list", "retrieve")
    attributes = calculator_attributes()
    relationships = (
        MARKETS,
        # A view of rows written, and firing events, as their own type: the events are those of the row, and
        # there is no tax_calculators.* topic to subscribe to (has_events would make one).
        ToMany("events", "events", "f", reverse="resource_id"),
    )


@registry.register
class ManualTaxCalculatorResource(TypedCalculatorResource):
    type = MANUAL
    calculator_type = MANUAL
    attributes = calculator_attributes()
    relationships = (
        MARKETS,
        # Linking rules here moves them to this calculator (a rule belongs to one calculator).
        ToMany("tax_rules", "tax_rules", "CUf", reverse="tax_calculator_id"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(TaxCalculator(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, TaxCalculator)
        return services.save_manual_tax_calculator(
            instance, payload.model_fields(cls), tax_rules=payload.relationships.get("tax_rules")
        )


@registry.register
class ExternalTaxCalculatorResource(TypedCalculatorResource):
    type = EXTERNAL
    calculator_type = EXTERNAL
    attributes = (
        *calculator_attributes(),
        String("tax_calculator_url", "CUF", required=True),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        Boolean("_reset_circuit", "U", trigger=True),
        # Shown, as Commerce Layer shows it: the merchant's endpoint needs it to check our signature.
        String("shared_secret", "F"),
        Boolean("_regenerate_shared_secret", "U", trigger=True),
        Array("external_includes", "CUF"),
    )
    relationships = (MARKETS,)

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(TaxCalculator(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, TaxCalculator)
        return services.save_external_tax_calculator(
            instance,
            payload.model_fields(cls),
            reset_circuit=triggered(payload, "_reset_circuit"),
            regenerate_shared_secret=triggered(payload, "_regenerate_shared_secret"),
        )


def no_breakdown(row: dict[str, Any]) -> None:
    """A rule is not calculated on its own: the tax breakdown of an order is on its lines."""
    return None


@registry.register
class TaxRuleResource(ServiceResource):
    type = "tax_rules"
    model = TaxRule
    save = staticmethod(services.save_tax_rule)
    attributes = (
        String("name", "CUFfs", required=True),
        Float("tax_rate", "CUFfs", default=0.0),
        Boolean("freight_taxable", "CUFf", default=False, nullable=False),
        Boolean("payment_method_taxable", "CUFf", default=False, nullable=False),
        Boolean("gift_card_taxable", "CUFf", default=False, nullable=False),
        Boolean("adjustment_taxable", "CUFf", default=False, nullable=False),
        Object("breakdown", "F", compute=no_breakdown),
        *(String(column, "CUF") for column in services.REGEX_COLUMNS),
    )
    relationships = (
        # Required (the service reports it missing with every other problem); Commerce Layer's foreign key is
        # tax_calculator_id, as here.
        ToOne(
            "manual_tax_calculator",
            "manual_tax_calculators",
            "CUf",
            column="tax_calculator_id",
            lookup="tax_calculator",
        ),
    )


@registry.register
class TaxCategoryResource(ServiceResource):
    type = "tax_categories"
    model = TaxCategory
    save = staticmethod(services.save_tax_category)
    attributes = (
        String("code", "CUFfs", required=True),
        # Names the SKU instead of the sku relationship (the service resolves it); reads back the SKU's code.
        String("sku_code", "CUF", expression=InTenant("sku__code")),
    )
    relationships = (
        # Both required, the sku possibly given as sku_code: the service reports them missing along with every
        # other problem of the row.
        ToOne("sku", "skus", "CUf"),
        ToOne("tax_calculator", SERVED_TYPES, "Cf"),
    )
