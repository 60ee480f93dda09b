"""Rich orders for bench/copy_throughput.py's "rich" phase (issue 13): in a market of their own sharing the
plain shop's price list, stock and payment method, each order has ``lines`` SKU lines at a volume tier's
price, each with a gift-wrap option (issue 14: +1.50 per line), a bundle line (two SKUs, issue 14), a -3.00
adjustment that distributes its discount, a shipping method restricted to an Italian zone (the market's
default) and taxes at 22% from the market's manual calculator (freight taxable); and (issue 14) the market's
promotions, 10% off then 2.00 off then free shipping by the coupon RICHSHIP, and a gift card of its own that
pays 5.00 of it, recharged once the order is placed so that its copies redeem it too. Seeded in the bench's process through the services, as
the plain orders are; Django must be set up and a scope active."""

from __future__ import annotations

from typing import Any

VOLUME_TIER_PERCENT = 90  # a line of 3 or more pays 90% of its price
QUANTITY = 3
ADJUSTMENT_CENTS = -300
OPTION_CENTS = 150
BUNDLE_CENTS = 1999
PERCENTAGE = 10
FIXED_AMOUNT_CENTS = 200
COUPON_CODE = "RICHSHIP"
GIFT_CARD_CENTS = 500


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
        self._promotions()
        self.cards = 0
        self.shop = shop

    def _promotions(self) -> None:
        """The market's promotions: a percentage, then a fixed amount, then free shipping by coupon."""
        import datetime as dt

        from orderfactory.core import clock
        from orderfactory.promotions.models import (
            FIXED_AMOUNT,
            FREE_SHIPPING,
            PERCENTAGE_DISCOUNT,
            Coupon,
            CouponCodesPromotionRule,
            Promotion,
        )

        now = clock.now()
        period = {"starts_at": now - dt.timedelta(days=1), "expires_at": now + dt.timedelta(days=365)}
        Promotion.objects.create(
            type=PERCENTAGE_DISCOUNT,
            name="10% off",
            percentage=PERCENTAGE,
            priority=1,
            market=self.market,
            **period,
        )
        Promotion.objects.create(
            type=FIXED_AMOUNT,
            name="2.00 off",
            fixed_amount_cents=FIXED_AMOUNT_CENTS,
            currency_code="EUR",
            priority=2,
            market=self.market,
            **period,
        )
        free = Promotion.objects.create(
            type=FREE_SHIPPING, name="Free shipping", priority=3, market=self.market, **period
        )
        rule = CouponCodesPromotionRule.objects.create(promotion=free)
        Coupon.objects.create(code=COUPON_CODE, promotion_rule=rule)

    def _gift_card(self) -> str:
        """A new active card of GIFT_CARD_CENTS in the market: its code."""
        from orderfactory.giftcards.models import GiftCard

        self.cards += 1
        code = f"RICH-CARD-{self.cards:06d}"
        GiftCard.objects.create(
            code=code,
            status="active",
            currency_code="EUR",
            initial_balance_cents=GIFT_CARD_CENTS,
            balance_cents=GIFT_CARD_CENTS,
            market=self.market,
        )
        return code

    def placed_order(self, lines: int, customer_email: str = "rich@example.com") -> str:
        """A placed rich order of ``lines`` SKU lines with their options, a bundle line and the adjustment, under
        the market's promotions and its coupon, paid by its gift card and wire transfer; the card recharged
        (the bench's copies are not placed: each redeems what is on the card without taking it)."""
        from django.db import transaction

        from orderfactory.addresses.models import Address
        from orderfactory.giftcards.models import GiftCard
        from orderfactory.orders import services as orders
        from orderfactory.orders.models import LineItem, LineItemOption
        from orderfactory.payments.models import WireTransfer

        with transaction.atomic():
            order = orders.create_order({}, market=self.market, customer_email=customer_email)
            order.coupon_code = COUPON_CODE
            order.gift_card_code = self._gift_card()
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
        GiftCard.objects.filter(code=order.gift_card_code).update(balance_cents=GIFT_CARD_CENTS)
        return str(order.pk)

    def describe(self, order_id: str) -> str:
        """What a rich order holds, in one line: that the bench copies what it says it copies."""
        from orderfactory.orders.models import LineItem, Order

        order = Order.objects.get(pk=order_id)
        kinds = sorted(set(LineItem.objects.filter(order_id=order_id).values_list("item_type", flat=True)))
        return (
            f"one rich order: subtotal {order.subtotal_amount_cents}, discount {order.discount_amount_cents}, "
            f"gift card {order.gift_card_amount_cents}, tax {order.total_tax_amount_cents}, total "
            f"{order.total_amount_cents} cents; lines of {', '.join(kinds)}"
        )
