"""Sales' ports (sales.ports): finance plugs its answers in at start-up; a port without an
implementation fails the start-up check and the call, never a silent zero."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import checks

from sales import ports, pricing


@pytest.fixture
def unplugged():
    taken = {name: ports.unregister(name) for name in (ports.TAX_RATES, ports.CREDIT_EXPOSURE, ports.MARGIN_SOURCE)}
    yield
    ports.register_tax_rates(taken[ports.TAX_RATES])
    ports.register_credit_exposure(taken[ports.CREDIT_EXPOSURE])
    ports.register_margin_source(taken[ports.MARGIN_SOURCE])


def test_finance_implements_every_port_at_start_up():
    assert [m for m in checks.run_checks() if m.id == "sales.E001"] == []
    assert isinstance(ports.tax_rates(), ports.TaxRates)
    assert isinstance(ports.credit_exposure(), ports.CreditExposure)
    assert isinstance(ports.margin_source(), ports.MarginSource)


def test_a_port_without_implementation_fails_the_system_check(unplugged):
    errors = [m for m in checks.run_checks() if m.id == "sales.E001"]
    assert sorted(m.msg for m in errors) == ["sales.ports.CreditExposure has no implementation.",
                                              "sales.ports.MarginSource has no implementation.",
                                              "sales.ports.TaxRates has no implementation."]
    assert all(m.level == checks.ERROR for m in errors)


def test_pricing_raises_instead_of_returning_zero_without_a_port(unplugged):
    with pytest.raises(ports.PortNotImplemented, match="TaxRates"):
        pricing.tax_rate(tax_category="standard", on=dt.date(2026, 11, 1))
    with pytest.raises(ports.PortNotImplemented, match="CreditExposure"):
        ports.credit_exposure()


def test_a_registration_must_implement_the_protocol():
    with pytest.raises(TypeError):
        ports.register_tax_rates(object())


@pytest.mark.django_db
def test_the_tax_port_answers_with_finance_s_tax_engine():
    assert pricing.tax_rate(tax_category="standard", on=dt.date(2026, 11, 1)) == Decimal("0.0800")
