"""The report and bank pages show their figures, a chart, and match a bank line by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import BankLineMatch, BankStatementLine, Invoice
from finance.services import import_bank_statement
from tests.conftest import make_user
from tests.finance.banking.conftest import fixture_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client):
    from core import roles

    client.force_login(make_user("finweb", roles.FINANCE))
    return client


def test_finance_dashboard_shows_cash_unmatched_lines_and_month_pnl(web, bank, invoice):
    import_bank_statement(data=fixture_bytes("statement.csv"), bank_account_code="OPS")
    html = web.get(reverse("web:dashboard-finance")).content.decode()
    assert 'data-kpi="unmatched_bank_lines">2<' in html
    assert 'data-kpi="pnl_month">18.00<' in html  # revenue 30.00 − COGS 12.00
    assert 'data-kpi="cash_position">0.00<' in html and "Cash by bank account (GL)" in html


@pytest.mark.parametrize("name", ["web:report-pnl", "web:report-balance-sheet", "web:report-cash-flow",
                                  "web:report-working-capital", "web:report-margin", "web:report-stock-aging",
                                  "web:bank-reconciliation"])
def test_report_pages_show_a_chart_and_rows(web, bank, invoice, name):
    response = web.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<canvas data-chart=" in html or "No data yet." in html
    csv = web.get(reverse(name), {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")


def test_match_a_queued_line_by_hand_in_the_web_ui(web, bank, invoice, fees_account):
    import_bank_statement(data=b"Booking date;Amount;Reference;Text;Transaction id\n"
                               b"05.12.2026;35,00;?;?;W-1\n", bank_account_code="OPS")
    queue = web.get(reverse("web:bank-queue")).content.decode()
    assert "35.00" in queue
    line = BankStatementLine.objects.get()
    url = reverse("web:bank-line", args=[line.pk])
    web.post(url, {"doc_0": invoice.number, "doc_amount_0": "32.40", "account": "6100", "account_amount": "2.60"})
    line.refresh_from_db()
    assert line.status == "matched"
    assert Invoice.objects.get().status == "paid"
    assert BankLineMatch.objects.get(kind="account").amount == Decimal("2.60")
