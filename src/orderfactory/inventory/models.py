"""Inventory models, stock locations, the priority of each stock location within an inventory model, and the
stock of each SKU in each location."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

STRATEGIES = ("no_split", "split_shipments", "ship_from_primary", "ship_from_first_available_or_primary")
LABEL_FORMATS = ("PDF", "ZPL", "EPL2", "PNG")


class InventoryModel(TenantModel):
    name = models.CharField(max_length=255)
    strategy = models.CharField(max_length=64, default="no_split")
    stock_locations_cutoff = models.IntegerField(default=2)
    stock_reservation_cutoff = models.IntegerField(default=3600)
    put_stock_transfers_on_hold = models.BooleanField(default=False)
    manual_stock_decrement = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("inventory_model_tenant", "created_at")]


class StockLocation(TenantModel):
    number = models.IntegerField()
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)
    label_format = models.CharField(max_length=8, default="PDF")
    suppress_etd = models.BooleanField(default=False)
    address = models.ForeignKey("addresses.Address", on_delete=models.PROTECT, related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "mode", "code"],
                condition=models.Q(code__isnull=False),
                name="stock_location_code_uniq",
            ),
            models.UniqueConstraint(
                fields=["organization", "mode", "number"], name="stock_location_number_uniq"
            ),
        ]
        indexes = [tenant_index("stock_location_tenant", "created_at")]


class InventoryStockLocation(TenantModel):
    priority = models.IntegerField()
    on_hold = models.BooleanField(default=False)
    # Found through inventory_stock_location_uniq, which leads with it.
    stock_location = models.ForeignKey(
        StockLocation, on_delete=models.CASCADE, related_name="inventory_stock_locations", db_index=False
    )
    inventory_model = models.ForeignKey(
        InventoryModel, on_delete=models.CASCADE, related_name="inventory_stock_locations"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["stock_location", "inventory_model"], name="inventory_stock_location_uniq"
            ),
        ]
        indexes = [tenant_index("inventory_location_tenant", "created_at")]


class StockItem(TenantModel):
    quantity = models.IntegerField()
    # Found through stock_item_stock_location_sku_uniq, which leads with it.
    stock_location = models.ForeignKey(
        StockLocation, on_delete=models.CASCADE, related_name="stock_items", db_index=False
    )
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="stock_items")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["stock_location", "sku"], name="stock_item_stock_location_sku_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="stock_item_quantity_not_negative"
            ),
        ]
        indexes = [tenant_index("stock_item_tenant", "created_at")]
