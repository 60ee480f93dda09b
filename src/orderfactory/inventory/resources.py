"""The inventory_models, stock_locations, inventory_stock_locations and stock_items resources."""

from __future__ import annotations

from orderfactory.catalog.resources import ServiceResource
from orderfactory.core.models import InTenant
from orderfactory.inventory import services
from orderfactory.inventory.models import InventoryModel, InventoryStockLocation, StockItem, StockLocation
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Integer, String, ToMany, ToOne


@registry.register
class InventoryModelResource(ServiceResource):
    type = "inventory_models"
    model = InventoryModel
    save = staticmethod(services.save_inventory_model)
    attributes = (
        String("name", "CUFfs", required=True),
        String("strategy", "CUFfs"),
        Integer("stock_locations_cutoff", "CUFfs"),
        Integer("stock_reservation_cutoff", "CUFfs"),
        Boolean("put_stock_transfers_on_hold", "CUF", nullable=False),
        Boolean("manual_stock_decrement", "CUF", nullable=False),
    )
    relationships = (
        ToMany("inventory_stock_locations", "inventory_stock_locations", "f", reverse="inventory_model_id"),
    )


@registry.register
class StockLocationResource(ServiceResource):
    type = "stock_locations"
    cacheable = True
    model = StockLocation
    save = staticmethod(services.save_stock_location)
    attributes = (
        Integer("number", "F"),
        String("name", "CUFfs", required=True),
        String("code", "CUFfs"),
        String("label_format", "CUFfs"),
        Boolean("suppress_etd", "CUFfs", nullable=False),
    )
    relationships = (
        ToOne("address", "addresses", "CUf", required=True),
        ToMany("inventory_stock_locations", "inventory_stock_locations", "f", reverse="stock_location_id"),
        ToMany("stock_items", "stock_items", "f", reverse="stock_location_id"),
    )


@registry.register
class InventoryStockLocationResource(ServiceResource):
    type = "inventory_stock_locations"
    model = InventoryStockLocation
    save = staticmethod(services.save_inventory_stock_location)
    attributes = (
        Integer("priority", "CUFfs", required=True),
        Boolean("on_hold", "CUFfs", nullable=False),
    )
    relationships = (
        ToOne("stock_location", "stock_locations", "CUf", required=True),
        ToOne("inventory_model", "inventory_models", "CUf", required=True),
    )


@registry.register
class StockItemResource(ServiceResource):
    type = "stock_items"
    cacheable = True
    model = StockItem
    save = staticmethod(services.save_stock_item)
    attributes = (
        # Names the SKU instead of the sku relationship (the service resolves it); reads back the SKU's code.
        String("sku_code", "CUF", expression=InTenant("sku__code")),
        Integer("quantity", "CUFfs", required=True),
        # Validates the quantity against the reserved stock; nothing reserves stock, so the checks every write
        # runs are the whole validation.
        Boolean("_validate", "U", trigger=True),
    )
    relationships = (
        ToOne("stock_location", "stock_locations", "CUf", required=True),
        # Required, but may be given as sku_code: the service reports it missing.
        ToOne("sku", "skus", "CUf"),
    )
