"""The one formatting layer on every page, with the sums each database really returns.

SQLite returns a SUM of DecimalFields without its scale (`200.810000000000`, or `162` for
`162.00`); PostgreSQL returns NUMERIC with the column's scale. Run this file on both:

    DEBUG=1 .venv/bin/python -m pytest -q -p no:xdist tests/web/test_formatting.py
    DATABASE_URL=postgres://… .venv/bin/python -m pytest -q -p no:xdist tests/web/test_formatting.py
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from core import roles
from core.templatetags.erp_format import money
from tests.web import scenario

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db

# a money or quantity string with more decimals than any currency has: `200.810000000000`
LONG_DECIMALS = re.compile(r"\d\.\d{3,}")


def visible_text(response) -> str:
    """What a person reads: no scripts (chart data), no tags, no attribute values."""
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def invoiced(clients, drain):
    sc = scenario.build()
    shipment = sc.order.shipments.get(status="ready")
    assert clients[OP].post(reverse("web:shipment-ship", args=[shipment.pk]),
                            {"tracking_number": "TRK-FMT"}).status_code == 302
    drain()
    return sc


def test_every_dashboard_shows_money_formatted_from_real_database_sums(clients, invoiced):
    from finance.models import Invoice

    invoices = list(Invoice.objects.all())
    assert invoices, "shipping must have invoiced the order"
    open_ar = sum((i.balance_due for i in invoices), Decimal("0"))
    pages = {
        "operations": clients[OP].get(reverse("web:dashboard-operations")),
        "finance": clients[F].get(reverse("web:dashboard-finance")),
        "support": clients[S].get(reverse("web:dashboard-support")),
        "integrations": clients[S].get(reverse("web:dashboard-integrations")),
        "invoices": clients[F].get(reverse("web:invoices")),
        "aging": clients[F].get(reverse("web:ar-aging")),
        "trial balance": clients[F].get(reverse("web:trial-balance")),
        "customer credit": clients[F].get(reverse("web:customer-credit")),
        "order": clients[OP].get(reverse("web:order", args=[invoiced.order.pk])),
        "invoice": clients[F].get(reverse("web:invoice", args=[invoices[0].pk])),
        "stock": clients[OP].get(reverse("web:stock")),
        "ledger": clients[OP].get(reverse("web:ledger") + "?sku=WEB-1"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        body = visible_text(response)
        assert not LONG_DECIMALS.findall(body), f"{name} on {connection.vendor}: {LONG_DECIMALS.findall(body)}"
    with translation.override("en-us"):
        expected = money(open_ar, "USD")
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", expected)
    finance = pages["finance"].content.decode()
    assert f'data-kpi="open_ar">{expected}<' in finance
    assert expected in visible_text(pages["aging"])
    # statuses in plain words, the raw code in the tooltip
    order_page = pages["order"].content.decode()
    assert 'title="partially_shipped"' in order_page or 'title="shipped"' in order_page or \
        'title="open"' in order_page
    assert ">Partially shipped<" in order_page or ">Shipped<" in order_page or ">Open<" in order_page
    # document numbers never wrap
    assert 'class="docno"' in visible_text(pages["invoices"]) or "docno" in pages["invoices"].content.decode()


def test_reconciliation_check_names_are_plain_words_with_the_code_in_a_tooltip(clients, db):
    assert clients[F].post(reverse("web:reconciliations")).status_code == 302
    html = clients[F].get(reverse("web:dashboard-finance")).content.decode()
    assert 'title="i5_gl_inventory_vs_stock_value"' in html and ">I5 GL inventory vs stock value<" in html
    assert ">i5_gl_inventory_vs_stock_value<" not in html
    # the table scrolls inside its card, never past it (static/css/app.css)
    assert 'class="wrap-words"' in html


def test_dates_follow_the_locale_and_units_their_decimals():
    import datetime

    class Kg:
        decimals = 3

    def render(text, **ctx):
        return Template("{% load erp_format %}" + text).render(Context(ctx))

    with translation.override("en-us"):
        assert render("{{ d|day }}", d=datetime.date(2026, 12, 7)) == "Dec 7, 2026"
        assert render("{{ q|qty:u }}", q=Decimal("2.5"), u=Kg()) == "2.500"
        assert render("{{ p|price:'USD' }}", p=Decimal("56.100000")) == "$56.10"
        assert render("{{ p|price:'USD' }}", p=Decimal("0.123456")) == "$0.123456"
    with translation.override("de"):
        assert render("{{ d|day }}", d=datetime.date(2026, 12, 7)) == "07.12.2026"


def test_a_past_trial_balance_with_nothing_posted_does_not_say_balanced(clients, db):
    html = clients[F].get(reverse("web:trial-balance") + "?as_of=2001-01-31").content.decode()
    assert "Nothing posted up to this date" in html and "Balanced" not in html


def test_inbound_errors_read_as_sentences_not_python_dicts():
    from core.templatetags.erp_format import sentence

    assert sentence("{'lines.0.sku': ['Unknown SKU NOPE-1.']}") == "Line 1 SKU: Unknown SKU NOPE-1."
    assert sentence({"row": 3, "error": "bad date"}) == "Row 3: bad date."
    assert sentence([{"segment": 2, "message": "missing N1"}]) == "Segment 2: missing N1."
    assert sentence("Connection refused") == "Connection refused"
