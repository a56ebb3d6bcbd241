"""Money in several currencies: hand-computed scenarios through the real services.

EUR at 1.0850 on the invoice date, 1.1000 on the payment date (company currency USD):
an order of 2 × 50.00 EUR + 8 % tax = 108.00 EUR → 117.18 USD in AR (revenue 108.50, tax
8.68); paid 108.00 EUR at 1.1000 = 118.80 USD → realised gain 1.62 USD exactly.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import DomainError
from finance.exceptions import CurrencyMismatch, RateMissing
from finance.models import ExchangeRate, Invoice, JournalEntry, JournalLine, Payment
from finance.services import fx
from finance.services.payments import AllocationInput, receive_payment
from tests.finance.conftest import balances, order, receive, ship_all

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.ERP = {**settings.ERP, "CURRENCY": "USD"}


def _today():
    return timezone.localdate()


def _eur_invoice(customer, warehouse, product, *, rate="1.0850"):
    fx.record_rate(currency="EUR", on=_today() - timedelta(days=3), rate=rate)
    customer.currency = "EUR"
    customer.save()
    receive(warehouse, product, "10", "20.00")
    so = order(customer, [(product.sku, "2", "50.00")])
    assert so.currency == "EUR" and so.exchange_rate == D("1.085000")
    assert (so.total, so.total_company) == (D("108.00"), D("117.18"))
    ship_all(so)
    return Invoice.objects.get(order=so)


def test_eur_invoice_posts_in_company_currency_with_the_original_beside(customer, warehouse, product):
    invoice = _eur_invoice(customer, warehouse, product)
    assert (invoice.currency, invoice.exchange_rate, invoice.total, invoice.total_company) == (
        "EUR", D("1.085000"), D("108.00"), D("117.18"))
    entry = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(invoice.pk))
    rows = {(ln.account.role, ln.debit, ln.credit, ln.currency, ln.amount_currency) for ln in entry.lines.all()}
    assert rows == {("ar", D("117.18"), D("0"), "EUR", D("108.000")),
                    ("revenue", D("0"), D("108.50"), "EUR", D("-100.000")),
                    ("tax_payable", D("0"), D("8.68"), "EUR", D("-8.000"))}


def test_payment_at_another_rate_posts_the_exact_realised_gain(customer, warehouse, product):
    invoice = _eur_invoice(customer, warehouse, product)
    pay_day = _today() + timedelta(days=1)
    fx.record_rate(currency="EUR", on=pay_day, rate="1.1000")
    payment = receive_payment(customer=customer, amount=D("108.00"), received_on=pay_day,
                              allocations=[AllocationInput(invoice.pk, D("108.00"))])
    assert (payment.currency, payment.exchange_rate, payment.total_company) == ("EUR", D("1.100000"), D("118.80"))
    gain = JournalEntry.objects.get(rule="realised_fx")
    assert {(ln.account.role, ln.debit, ln.credit) for ln in gain.lines.all()} == {
        ("ar", D("1.62"), D("0")), ("fx_gain", D("0"), D("1.62"))}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due, invoice.balance_company) == ("paid", D("0"), D("0"))
    b = balances()
    assert b["ar"] == D("0")  # 117.18 − 118.80 + 1.62
    assert b["cash"] == D("118.80") and b["fx_gain"] == D("-1.62")


def test_partial_payments_clear_the_invoice_without_a_stranded_cent(customer, warehouse, product):
    invoice = _eur_invoice(customer, warehouse, product)
    pay_day = _today() + timedelta(days=1)
    fx.record_rate(currency="EUR", on=pay_day, rate="1.0700")
    receive_payment(customer=customer, amount=D("33.33"), received_on=pay_day,
                    allocations=[AllocationInput(invoice.pk, D("33.33"))])
    receive_payment(customer=customer, amount=D("74.67"), received_on=pay_day,
                    allocations=[AllocationInput(invoice.pk, D("74.67"))])
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance_company == 0
    b = balances()
    # 108.00 EUR paid at 1.07 = 35.66 + 79.90 = 115.56; loss 117.18 − 115.56 = 1.62
    assert b["ar"] == 0 and b["cash"] == D("115.56") and b["fx_loss"] == D("1.62")


def test_a_payment_in_a_third_currency_is_refused_and_nothing_written(customer, warehouse, product):
    invoice = _eur_invoice(customer, warehouse, product)
    fx.record_rate(currency="GBP", on=_today() - timedelta(days=3), rate="1.25")
    before = (Payment.objects.count(), JournalEntry.objects.count())
    with pytest.raises(CurrencyMismatch) as err:
        receive_payment(customer=customer, amount=D("90.00"), currency="GBP",
                        allocations=[AllocationInput(invoice.pk, D("90.00"))])
    assert err.value.http_status == 422 and "EUR" in err.value.detail
    assert (Payment.objects.count(), JournalEntry.objects.count()) == before


def test_a_missing_rate_is_a_422_naming_currency_and_date(customer):
    customer.currency = "CHF"
    customer.save()
    with pytest.raises(RateMissing) as err:
        receive_payment(customer=customer, amount=D("10.00"))
    assert err.value.http_status == 422
    assert "CHF" in err.value.detail and _today().isoformat() in err.value.detail
    assert not Payment.objects.exists()


def test_amount_with_more_decimals_than_the_currency_is_refused(customer):
    fx.record_rate(currency="JPY", on=_today(), rate="0.006700")
    customer.currency = "JPY"
    customer.save()
    with pytest.raises(DomainError) as err:
        receive_payment(customer=customer, amount=D("100.5"))
    assert err.value.http_status == 400
    assert not Payment.objects.exists()


def test_jpy_order_rounds_to_whole_yen_and_kwd_to_fils(customer, warehouse, product):
    fx.record_rate(currency="JPY", on=_today(), rate="0.006700")
    customer.currency = "JPY"
    customer.save()
    receive(warehouse, product, "10", "20.00")
    so = order(customer, [(product.sku, "3", "333.3")], ref="jpy")
    # 3 × 333.3 = 999.9 → 1000 JPY; tax 8 % = 80 JPY; total 1080 JPY = 7.236 → 7.24 USD
    assert (so.subtotal, so.tax, so.total, so.total_company) == (D("1000"), D("80"), D("1080"), D("7.24"))
    ship_all(so)
    invoice = Invoice.objects.get(order=so)
    assert (invoice.total, invoice.total_company) == (D("1080"), D("7.24"))
    entry = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(invoice.pk))
    # revenue 1000 × 0.0067 = 6.70, tax 80 × 0.0067 = 0.536 → 0.54: 7.24 = AR, no rounding line
    assert sum(ln.debit for ln in entry.lines.all()) == sum(ln.credit for ln in entry.lines.all()) == D("7.24")
    # KWD has three decimals (fils), kept exactly; a fourth is refused, never silently cut
    assert fx.in_currency(D("1.23456"), "KWD") == D("1.235")
    assert fx.check_amount(D("1.234"), "KWD") == D("1.234")
    with pytest.raises(DomainError) as err:
        fx.check_amount(D("1.2345"), "KWD")
    assert err.value.http_status == 400 and "at most 3 decimals" in err.value.detail
    with pytest.raises(DomainError) as err:
        fx.check_amount(D("10.5"), "JPY")
    assert err.value.http_status == 400


def test_kwd_order_to_invoice_to_payment_keeps_fils(customer, warehouse, product, finance_client):
    """3 × 3.33 = 9.990 KWD, tax 8 % = 0.7992 → 0.799, total 10.789 KWD; at 3.2541 USD:
    10.789 × 3.2541 = 35.1084849 → AR 35.11; revenue 9.99 × 3.2541 = 32.508459 → 32.51, tax
    0.799 × 3.2541 = 2.6000259 → 2.60 (32.51 + 2.60 = 35.11: no rounding line). Paid 10.789 KWD
    at the same rate: 35.11, the invoice cleared, no exchange difference."""
    from django.urls import reverse

    fx.record_rate(currency="KWD", on=_today(), rate="3.254100")
    customer.currency = "KWD"
    customer.save()
    receive(warehouse, product, "10", "20.00")
    so = order(customer, [(product.sku, "3", "3.33")], ref="kwd")
    assert (so.subtotal, so.tax, so.total, so.total_company) == (D("9.99"), D("0.799"), D("10.789"), D("35.11"))
    ship_all(so)
    invoice = Invoice.objects.get(order=so)
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.total_company) == (
        D("9.990"), D("0.799"), D("10.789"), D("35.11"))
    entry = JournalEntry.objects.get(source_type="finance.invoice", source_id=str(invoice.pk))
    assert {(ln.account.role, ln.debit, ln.credit, ln.currency, ln.amount_currency) for ln in entry.lines.all()} == {
        ("ar", D("35.11"), D("0"), "KWD", D("10.789")), ("revenue", D("0"), D("32.51"), "KWD", D("-9.990")),
        ("tax_payable", D("0"), D("2.60"), "KWD", D("-0.799"))}
    # the API gives KWD amounts with their three decimals, USD ones with two
    body = finance_client.get(reverse("finance:invoice-detail", args=[invoice.pk])).json()
    assert (body["subtotal"], body["tax"], body["total"], body["balance_due"], body["total_company"]) == (
        "9.990", "0.799", "10.789", "10.789", "35.11")
    # a payment with a fourth decimal is a 400, nothing written
    refused = finance_client.post(reverse("finance:payment-list"), {
        "customer": customer.code, "amount": "10.7891", "allocations": [{"invoice": invoice.pk, "amount": "10.7891"}]},
        format="json")
    assert refused.status_code == 400 and not Payment.objects.exists()
    paid = finance_client.post(reverse("finance:payment-list"), {
        "customer": customer.code, "amount": "10.789", "allocations": [{"invoice": invoice.pk, "amount": "10.789"}]},
        format="json")
    assert paid.status_code == 201, paid.json()
    assert (paid.json()["amount"], paid.json()["total_company"]) == ("10.789", "35.11")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due, invoice.balance_company) == ("paid", D("0"), D("0"))
    assert balances()["ar"] == D("0") and not JournalEntry.objects.filter(rule="realised_fx").exists()


def test_a_kwd_unit_price_keeps_its_fils_and_a_usd_one_keeps_cents(customer, warehouse, product):
    """A KWD price has three decimals (1.234 × 3 = 3.702 KWD, tax 8 % 0.29616 → 0.296); a USD
    price with a third decimal is refused (400), nothing written."""
    from sales.exceptions import InvalidOrder
    from sales.models import Order

    fx.record_rate(currency="KWD", on=_today(), rate="3.254100")
    receive(warehouse, product, "10", "20.00")
    with pytest.raises(InvalidOrder) as err:
        order(customer, [(product.sku, "1", "1.234")], ref="usd-fils")
    assert err.value.errors == {"lines.0.unit_price": ["At most 2 decimal places."]}
    assert not Order.objects.exists()
    customer.currency = "KWD"
    customer.save()
    so = order(customer, [(product.sku, "3", "1.234")], ref="kwd-fils")
    line = so.lines.get()
    assert (line.unit_price, line.line_subtotal, so.tax, so.total) == (D("1.234"), D("3.702"), D("0.296"), D("3.998"))


def test_a_four_decimal_unit_is_refused_as_a_document_currency(customer, finance_client):
    from django.urls import reverse

    with pytest.raises(DomainError) as err:
        fx.check_currency("CLF")
    assert err.value.http_status == 400 and "CLF has 4 decimals" in err.value.detail
    response = finance_client.post(reverse("finance:payment-list"), {"customer": customer.code, "amount": "1",
                                                                     "currency": "CLF"}, format="json")
    assert response.status_code == 400 and "4 decimals" in str(response.json()) and not Payment.objects.exists()


def test_conversion_rounding_goes_to_the_rounding_account(customer, warehouse, product):
    # 3 lines of 0.01 EUR at 1.5 → 0.015 each → 0.02 ×3 = 0.06, but the total 0.03 → 0.05 (half-up 0.045)
    from finance.posting import _in_company
    from finance.services.journal import Line

    lines = [Line("ar", D("0.03"), customer_id=customer.pk)] + [Line("revenue", D("-0.01")) for _ in range(3)]
    out = _in_company(lines, currency="EUR", rate=D("1.5"))
    assert [(ln.role, ln.amount) for ln in out] == [("ar", D("0.05")), ("revenue", D("-0.02")),
                                                    ("revenue", D("-0.02")), ("revenue", D("-0.02")),
                                                    ("rounding", D("0.01"))]


def test_company_currency_documents_are_unchanged(customer, warehouse, product):
    receive(warehouse, product, "10", "20.00")
    so = order(customer, [(product.sku, "1", "10.00")])
    ship_all(so)
    invoice = Invoice.objects.get(order=so)
    assert (invoice.currency, invoice.exchange_rate, invoice.total_company) == ("USD", D("1"), invoice.total)
    assert not ExchangeRate.objects.exists()
    lines = JournalLine.objects.filter(entry__source_type="finance.invoice")
    assert all(ln.currency == "USD" and ln.amount_currency == ln.debit - ln.credit for ln in lines)


def test_rates_are_validated_before_anything_is_written():
    with pytest.raises(DomainError) as err:
        fx.import_rates_csv("currency,date,rate\nEUR,2026-11-01,1.085\nZZZ,2026-11-01,1\nGBP,2026-11-01,0\n"
                            "CHF,2026-11-01,1.1234567\n")
    assert set(err.value.errors) == {"rows.3.currency", "rows.4.rate", "rows.5.rate"}
    assert not ExchangeRate.objects.exists()
    rows = fx.import_rates_csv("currency,date,rate\nEUR,2026-11-01,1.085\nEUR,2026-11-05,1.09\n")
    assert len(rows) == 2
    assert fx.rate_on("EUR", _today()) == D("1.090000")
    assert fx.rate_on("USD", _today()) == 1


# --- unrealised FX: revaluation and its reversal ------------------------------------------------

def test_revaluation_of_an_open_eur_invoice_and_its_reversal(customer, warehouse, product):
    from finance.services.revaluation import revalue

    invoice = _eur_invoice(customer, warehouse, product)  # 108.00 EUR carried at 117.18 USD
    month_end = _today() + timedelta(days=2)
    fx.record_rate(currency="EUR", on=month_end, rate="1.1200")
    result = revalue(on=month_end)
    # 108.00 × 1.12 = 120.96 → unrealised gain 3.78 on the revaluation date …
    assert {(ln.account.role, ln.debit, ln.credit, ln.date) for ln in result.entry.lines.all()} == {
        ("ar", D("3.78"), D("0"), month_end), ("fx_gain", D("0"), D("3.78"), month_end)}
    # … reversed the next day
    assert result.reversal.reversal_of_id == result.entry.pk
    assert {(ln.account.role, ln.debit, ln.credit, ln.date) for ln in result.reversal.lines.all()} == {
        ("ar", D("0"), D("3.78"), month_end + timedelta(days=1)),
        ("fx_gain", D("3.78"), D("0"), month_end + timedelta(days=1))}
    # the invoice keeps its own rate: paying it later still realises against 117.18
    invoice.refresh_from_db()
    assert invoice.balance_company == D("117.18")
    # idempotent per date
    again = revalue(on=month_end)
    assert again.entry.pk == result.entry.pk and JournalEntry.objects.filter(rule="revaluation").count() == 1
    assert balances()["ar"] == D("117.18")


def test_closing_a_period_requires_its_revaluation(customer, warehouse, product):
    from finance.exceptions import PeriodNotClosable
    from finance.services import close_period, period_for_date
    from finance.services.revaluation import revalue

    _eur_invoice(customer, warehouse, product)
    period = period_for_date(_today())
    fx.record_rate(currency="EUR", on=period.end_date, rate="1.0900")
    with pytest.raises(PeriodNotClosable) as err:
        close_period(period_id=period.pk)
    assert "not revalued" in err.value.detail
    revalue(on=period.end_date)
    try:
        close_period(period_id=period.pk)
    except PeriodNotClosable as exc:  # other reasons may remain (unposted documents), never the revaluation
        assert "not revalued" not in exc.detail


def test_a_revaluation_without_a_rate_is_refused_and_posts_nothing(customer, warehouse, product):
    from finance.services.revaluation import revalue

    _eur_invoice(customer, warehouse, product)
    ExchangeRate.objects.all().delete()
    with pytest.raises(RateMissing):
        revalue(on=_today())
    assert not JournalEntry.objects.filter(source_type="finance.revaluation").exists()


# --- the ECB-style reference-rate feed ----------------------------------------------------------

FEED = str(__import__("pathlib").Path(__file__).parents[1] / "fixtures" / "eurofxref-daily.xml")


def test_the_ecb_feed_loads_company_currency_rates_exactly():
    from finance.services import rate_feed

    rows = {r.currency: r for r in rate_feed.load_ecb(FEED)}
    assert "USD" not in rows  # the company currency has no row: its rate is 1
    assert rows["EUR"].rate == D("1.085000") and rows["EUR"].date.isoformat() == "2026-12-04"
    assert rows["JPY"].rate == D("0.006682")   # 1.0850 / 162.37 = 0.0066822688…
    assert rows["GBP"].rate == D("1.283796")   # 1.0850 / 0.84515 = 1.2837957758…
    assert rows["CHF"].rate == D("1.157457")
    assert rows["IDR"].rate == D("0.000061")
    assert all(r.source == "ecb" for r in rows.values())
    assert len(rate_feed.load_ecb(FEED)) == len(rows)  # the same day again replaces, never duplicates
    assert ExchangeRate.objects.count() == len(rows)


def test_the_feed_with_eur_books_inverts_the_rates(settings):
    from finance.services import rate_feed

    settings.ERP = {**settings.ERP, "CURRENCY": "EUR"}
    rows = {r.currency: r.rate for r in rate_feed.load_ecb(FEED)}
    assert rows["USD"] == D("0.921659") and rows["GBP"] == D("1.183222") and "EUR" not in rows


def test_a_broken_feed_is_refused_and_nothing_written(tmp_path):
    from finance.services import rate_feed

    bad = tmp_path / "feed.xml"
    bad.write_text("<Envelope><Cube><Cube time='2026-12-04'><Cube currency='USD' rate='x'/></Cube></Cube></Envelope>")
    with pytest.raises(DomainError):
        rate_feed.load_ecb(str(bad))
    bad.write_text("<not-xml")
    with pytest.raises(DomainError):
        rate_feed.load_ecb(str(bad))
    assert not ExchangeRate.objects.exists()


def test_the_beat_task_and_the_command_load_the_feed(settings):
    from django.core.management import call_command

    from finance.tasks import load_rate_feed

    settings.ERP = {**settings.ERP, "RATE_FEED_URL": FEED}
    assert load_rate_feed()["date"] == "2026-12-04"
    ExchangeRate.objects.all().delete()
    call_command("import_exchange_rates", FEED, "--ecb")
    assert ExchangeRate.objects.filter(currency="EUR", rate=D("1.085000")).exists()
