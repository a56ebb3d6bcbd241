from datetime import date
from decimal import Decimal

import pytest

from finance.exceptions import AccountNotConfigured
from finance.models import Account, AccountOverride
from finance.services import Line, account_for, post_journal_entry
from tests.factories.finance import AccountFactory
from tests.factories.inventory import ProductFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_overrides_by_customer_then_product_category_then_default(customer, other_customer):
    export = AccountFactory(code="4010", type="income", name="Export revenue")
    books = AccountFactory(code="4020", type="income", name="Book revenue")
    AccountOverride.objects.create(role="revenue", customer=customer, account=export)
    AccountOverride.objects.create(role="revenue", product_category="books", account=books)
    assert account_for("revenue", customer_id=customer.pk, product_category="books") == export
    assert account_for("revenue", customer_id=other_customer.pk, product_category="books") == books
    assert account_for("revenue", customer_id=other_customer.pk).code == "4000"


def test_posting_rules_follow_the_product_category_override(other_customer):
    books = AccountFactory(code="4020", type="income", name="Book revenue")
    AccountOverride.objects.create(role="revenue", product_category="books", account=books)
    novel = ProductFactory(sku="NOVEL", category="books")
    entry = post_journal_entry(on=date(2026, 11, 3), source_type="test", source_id="1", rule="t", lines=[
        Line("ar", D("10"), customer_id=other_customer.pk),
        Line("revenue", D("-10"), customer_id=other_customer.pk, product_id=novel.pk)])
    assert entry.lines.get(credit=D("10")).account == books


def test_a_missing_role_account_is_restored_but_an_edited_chart_is_respected():
    Account.objects.filter(role="write_off").delete()        # e.g. a flushed database
    assert account_for("write_off").code == "5300"             # the default comes back
    Account.objects.filter(role="write_off").update(is_active=False)
    with pytest.raises(AccountNotConfigured):                  # deactivated on purpose: refuse, clearly
        account_for("write_off")
    Account.objects.filter(role="write_off").update(role="", is_active=True)
    with pytest.raises(AccountNotConfigured):                  # role taken away, code still used
        account_for("write_off")
