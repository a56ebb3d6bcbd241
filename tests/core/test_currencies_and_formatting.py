from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from core import currencies


@pytest.mark.parametrize("code, places", [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_units_come_from_iso_4217(code, places):
    assert currencies.decimals(code) == places


def test_rounding_is_half_up_to_the_currency_minor_unit():
    assert currencies.quantize(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert currencies.quantize(Decimal("1.2345"), "KWD") == Decimal("1.235")
    assert currencies.quantize(Decimal("2.005"), "EUR") == Decimal("2.01")
    assert currencies.fits(Decimal("1.23"), "EUR") and not currencies.fits(Decimal("1.5"), "JPY")


def test_unknown_code_is_refused():
    assert not currencies.is_known("XYZ")
    with pytest.raises(currencies.UnknownCurrency):
        currencies.decimals("XYZ")


def _render(text, **context):
    return Template("{% load erp_format %}" + text).render(Context(context))


def test_money_filter_uses_the_currency_decimals_separators_and_symbol():
    with translation.override("en"):
        assert _render("{{ v|money:'USD' }}", v=Decimal("1386.130000000")) == "$1,386.13"
        assert _render("{{ v|money:'JPY' }}", v=Decimal("1234.5")) == "¥1,235"
        assert _render("{{ v|money:'KWD' }}", v="2.5") == "KWD2.500"
        assert _render("{{ v|amount:'EUR' }}", v=Decimal("200.810000000000")) == "200.81"
        assert _render("{{ v|money }}", v=None) == "—"
    with translation.override("de"):
        assert _render("{{ v|money:'EUR' }}", v=Decimal("1507.7")) == "1.507,70\xa0€"


def test_quantity_and_label_filters():
    with translation.override("en"):
        assert _render("{{ v|qty }}", v=Decimal("1200.125000")) == "1,200.125"
        assert _render("{{ v|qty }}", v=Decimal("12.000")) == "12"
    assert _render("{{ v|label }}", v="partially_shipped") == "Partially shipped"
