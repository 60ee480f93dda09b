"""The customers, customer_addresses and customer_payment_sources resources."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderfactory.addresses.resources import LOCATION_COLUMNS, NAME_COLUMNS, full_address, full_name
from orderfactory.catalog.resources import ServiceResource
from orderfactory.core import scope as scopes
from orderfactory.core.models import InTenant
from orderfactory.customers import anonymization, groups, services
from orderfactory.customers.models import (
    CUSTOMER_STATUSES,
    Customer,
    CustomerAddress,
    CustomerGroup,
    CustomerPaymentSource,
)
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import Boolean, Integer, Object, Payload, String, ToMany, ToOne
from orderfactory.payments.models import SERVED_PAYMENT_SOURCE_TYPES
from orderfactory.tags.resources import tagged


@registry.register
@tagged
class CustomerResource(ServiceResource):
    type = "customers"
    model = Customer
    save = staticmethod(services.save_customer)
    has_events = True
    attributes = (
        String("email", "CUFfs", required=True),
        # Write-only: stored hashed, never rendered (not fetchable).
        String("password", "CU"),
        String("status", "Ffs", enum=CUSTOMER_STATUSES),
        Boolean("has_password", "F", compute=lambda row: row["password"] is not None, depends=("password",)),
        Integer("total_orders_count", "Ffs"),
        String("shopper_reference", "CUF"),
        String("profile_id", "CUF"),
        String("tax_exemption_code", "CUF"),
        Boolean("_request_anonymization", "U", trigger=True),
        Boolean("_cancel_anonymization", "U", trigger=True),
        Object("anonymization_info", "F"),
        String("anonymization_status", "Ffs"),
    )
    relationships = (
        ToMany("customer_addresses", "customer_addresses", "f", reverse="customer_id"),
        ToMany("customer_payment_sources", "customer_payment_sources", "f", reverse="customer_id"),
        ToMany("orders", "orders", "", reverse="customer_id"),
        ToMany("order_subscriptions", "order_subscriptions", "f", reverse="customer_id"),
        ToOne("customer_group", "customer_groups", "CUf"),
        ToMany("sku_lists", "sku_lists", "f", reverse="customer_id"),
    )

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        """The customer's PATCH, its row locked by the engine's transaction: its attributes, then its
        anonymization triggers (Commerce Layer: "cannot be passed by sales channels")."""
        assert isinstance(instance, Customer)
        fired = [name for name in anonymization.TRIGGERS if payload.triggers.get(name)]
        if fired and scopes.current().application_kind == "sales_channel":
            raise errors.param_not_allowed(fired[0], pointer=f"/data/attributes/{fired[0]}")
        changes = payload.model_fields(cls)
        customer = services.save_customer(instance, changes) if changes else instance
        anonymization.apply_triggers(customer, payload.triggers)
        return customer


@registry.register
class CustomerGroupResource(ServiceResource):
    type = "customer_groups"
    model = CustomerGroup
    save = staticmethod(groups.save_group)
    attributes = (String("name", "CUFfs", required=True), String("code", "CUFfs"))
    relationships = (
        ToMany("customers", "customers", "", reverse="customer_group_id"),
        ToMany("markets", "markets", "", reverse="customer_group_id"),
    )

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, CustomerGroup)
        groups.delete_group(instance)


ADDRESS_NAME_COLUMNS = NAME_COLUMNS + LOCATION_COLUMNS


def address_name(row: dict[str, Any]) -> str:
    """The address's own ``name`` ("John Smith, 2883 Geraldine Lane, ..."), read through the join."""
    address = {column: row[f"address__{column}"] for column in ADDRESS_NAME_COLUMNS}
    return ", ".join(part for part in (full_name(address), full_address(address)) if part)


@registry.register
class CustomerAddressResource(ServiceResource):
    type = "customer_addresses"
    model = CustomerAddress
    has_events = True
    attributes = (
        String(
            "name", "F", compute=address_name, depends=tuple(f"address__{c}" for c in ADDRESS_NAME_COLUMNS)
        ),
        # Creatable as another way to name the customer (an existing one's email); read from the customer.
        String("customer_email", "CF", expression=InTenant("customer__email")),
    )
    relationships = (
        # Both required, but the customer may be given as ``customer_email`` instead: the service checks
        # them, so that both are reported when both are missing.
        ToOne("customer", "customers", "CUf"),
        ToOne("address", "addresses", "CUf"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        changes = payload.model_fields(cls)
        customer_email = changes.pop("customer_email", None)
        return services.save_customer_address(CustomerAddress(), changes, customer_email=customer_email)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, CustomerAddress)
        return services.save_customer_address(instance, payload.model_fields(cls))


@registry.register
class CustomerPaymentSourceResource(ServiceResource):
    type = "customer_payment_sources"
    model = CustomerPaymentSource
    save = staticmethod(services.save_customer_payment_source)
    attributes = (
        String("name", "Ff"),
        String("customer_token", "CUF"),
        String("payment_source_token", "CUFf"),
    )
    relationships = (
        ToOne("customer", "customers", "CUf", required=True),
        ToOne("payment_method", "payment_methods", "CUf"),
        ToOne("payment_source", SERVED_PAYMENT_SOURCE_TYPES, "CU"),
    )

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, CustomerPaymentSource)
        services.delete_customer_payment_source(instance)
