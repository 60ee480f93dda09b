"""Rich orders for bench/copy_throughput.py's "rich" phase (issue 13): in a market of their own sharing the
plain shop's price list, stock and payment method, each order has ``lines`` SKU lines at a volume tier's
price, each with a gift-wrap option (issue 14: +1.50 per line), a bundle line (two SKUs, issue 14), a -3.00
adjustment that distributes its discount, a shipping method restricted to an Italian zone (the market's
default) and taxes at 22% from the market's manual calculator (freight taxable). Seeded in
the bench's process through the services, as the plain orders are; Django must be set up and a scope
active."""

from __future__ import annotations

from typing import Any

VOLUME_TIER_PERCENT = 90  # a line of 3 or more pays 90% of its price
QUANTITY = 3
ADJUSTMENT_CENTS = -300
OPTION_CENTS = 150
BUNDLE_CENTS = 1999


class RichMarket:
    def __init__(self, shop: Any) -> None:
        from orderfactory.adjustments.models import Adjustment
        from orderfactory.catalog.models import Market, Price, PriceTier, ShippingMethod, ShippingZone
        from orderfactory.payments.models import PaymentMethod
        from orderfactory.taxes.models import MANUAL, TaxCalculator, TaxRule

        plain = shop.market
        calculator = TaxCalculator.objects.create(type=MANUAL, name="VAT")
        TaxRule.objects.create(
            tax_calculator=calculator,
            name="Italy",
            tax_rate="0.22",
            country_code_regex="^IT$",
            freight_taxable=True,
        )
        self.market = Market.objects.create(
            name="Rich",
            code="RICH",
            merchant=plain.merchant,
            price_list=plain.price_list,
            inventory_model=plain.inventory_model,
            tax_calculator=calculator,
            tax_calculator_type=MANUAL,
        )
        zone = ShippingZone.objects.create(name="Italy", country_code_regex="^IT$")
        self.market.default_shipping_method = ShippingMethod.objects.create(
            name="Italy only",
            price_amount_cents=500,
            currency_code="EUR",
            market=self.market,
            shipping_zone=zone,
        )
        self.market.save(update_fields=["default_shipping_method"])
        self.payment_method = PaymentMethod.objects.create(
            name="Wire transfer",
            payment_source_type="wire_transfers",
            market=self.market,
            payment_gateway_type=shop.payment_method.payment_gateway_type,
            payment_gateway_id=shop.payment_method.payment_gateway_id,
            price_amount_cents=0,
        )
        prices = list(Price.objects.filter(price_list=plain.price_list).order_by("sku__code"))
        PriceTier.objects.bulk_create(
            [
                PriceTier(
                    type="price_volume_tiers",
                    name="Three or more",
                    up_to=None,
                    price=price,
                    price_amount_cents=price.amount_cents * VOLUME_TIER_PERCENT // 100,
                )
                for price in prices
            ]
        )
        self.unit_cents = {price.sku_id: price.amount_cents * VOLUME_TIER_PERCENT // 100 for price in prices}
        from orderfactory.catalog.models import Bundle, SkuList, SkuListItem, SkuOption

        kit = SkuList.objects.create(name="Rich kit", slug="rich-kit")
        for position, sku in enumerate(shop.skus[:2], start=1):
            SkuListItem.objects.create(sku_list=kit, sku=sku, position=position, quantity=1)
        self.bundle = Bundle.objects.create(
            code="RICH-KIT",
            name="Rich kit",
            currency_code="EUR",
            price_amount_cents=BUNDLE_CENTS,
            market=self.market,
            sku_list=kit,
        )
        self.option = SkuOption.objects.create(
            name="Gift wrap", currency_code="EUR", price_amount_cents=OPTION_CENTS, market=self.market
        )
        self.adjustment = Adjustment.objects.create(
            name="Goodwill", currency_code="EUR", amount_cents=ADJUSTMENT_CENTS, distribute_discount=True
        )
        self.shop = shop

    def placed_order(self, lines: int, customer_email: str = "rich@example.com") -> str:
        """A placed rich order of ``lines`` SKU lines with their options, a bundle line and the adjustment, paid
        by wire transfer."""
        from django.db import transaction

        from orderfactory.addresses.models import Address
        from orderfactory.orders import services as orders
        from orderfactory.orders.models import LineItem, LineItemOption
        from orderfactory.payments.models import WireTransfer

        with transaction.atomic():
            order = orders.create_order({}, market=self.market, customer_email=customer_email)
            order.billing_address = Address.objects.create(**self.shop.address)
            order.shipping_address = Address.objects.create(**self.shop.address)
            order.payment_method = self.payment_method
            orders.link_payment_source(order, WireTransfer.objects.create())
            skus = self.shop.skus[:lines]
            LineItem.objects.bulk_create(
                [
                    LineItem(
                        order=order,
                        item_type=orders.SKU,
                        item_id=sku.pk,
                        sku=sku,
                        sku_code=sku.code,
                        quantity=QUANTITY,
                        currency_code="EUR",
                        unit_amount_cents=self.unit_cents[sku.pk],
                        options_amount_cents=OPTION_CENTS,
                        total_amount_cents=self.unit_cents[sku.pk] * QUANTITY + OPTION_CENTS,
                        name=sku.name,
                        image_url=sku.image_url,
                    )
                    for sku in skus
                ]
                + [
                    LineItem(
                        order=order,
                        item_type=orders.BUNDLE_LINE,
                        item_id=self.bundle.pk,
                        bundle=self.bundle,
                        bundle_code=self.bundle.code,
                        quantity=1,
                        currency_code="EUR",
                        unit_amount_cents=BUNDLE_CENTS,
                        total_amount_cents=BUNDLE_CENTS,
                        name=self.bundle.name,
                    )
                ]
                + [
                    LineItem(
                        order=order,
                        item_type=orders.ADJUSTMENT_LINE,
                        item_id=self.adjustment.pk,
                        adjustment=self.adjustment,
                        name=self.adjustment.name,
                        quantity=1,
                        currency_code="EUR",
                        unit_amount_cents=ADJUSTMENT_CENTS,
                        total_amount_cents=ADJUSTMENT_CENTS,
                    )
                ]
            )
            sku_lines = LineItem.objects.filter(order=order, item_type=orders.SKU)
            LineItemOption.objects.bulk_create(
                [
                    LineItemOption(
                        line_item=line,
                        sku_option=self.option,
                        name=self.option.name,
                        quantity=1,
                        currency_code="EUR",
                        unit_amount_cents=OPTION_CENTS,
                        total_amount_cents=OPTION_CENTS,
                        options={"message": "Happy birthday"},
                    )
                    for line in sku_lines
                ]
            )
            order.line_item_options_count = len(skus)
            orders.recompute(order)
        orders.place(order.pk)
        return str(order.pk)
