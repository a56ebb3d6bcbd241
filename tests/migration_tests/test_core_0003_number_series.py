"""The three number series implementations became one (core.NumberSeries): sales' and
finance's counter rows and each EDI partner's last control number move to core rows whose
next number is exactly the one the old row would have given, in the same format."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import numbering
from finance.services import numbering as finance_numbering
from integrations.channels import edi
from sales import locks as sales_locks

pytestmark = pytest.mark.django_db(transaction=True)


def test_sales_counters_move_and_the_next_order_number_follows(migration_test):
    # given: 41 orders numbered under the old sales series
    old = migration_test.before("sales", "0002_number_series_to_core")
    Series = old.get_model("sales", "NumberSeries")
    Series.objects.update_or_create(key="order", defaults={"prefix": "SO-", "padding": 6, "next_value": 42})
    Series.objects.update_or_create(key="return", defaults={"prefix": "RMA-", "padding": 8, "next_value": 7})
    # when
    new = migration_test.apply()
    # then: the rows are in core, and the next order is the 42nd, same format
    moved = {s.key: (s.prefix, s.padding, s.next_value) for s in new.get_model("core", "NumberSeries").objects.all()}
    assert moved["order"] == ("SO-", 6, 42)
    assert moved["return"] == ("RMA-", 8, 7)
    with transaction.atomic():
        number = numbering.next_number(sales_locks.ORDER_SERIES, prefix="X-", padding=2)
    assert number == "SO-000042"


def test_sales_counters_move_back(migration_test):
    old = migration_test.before("sales", "0002_number_series_to_core")
    old.get_model("sales", "NumberSeries").objects.update_or_create(
        key="order", defaults={"prefix": "SO-", "padding": 6, "next_value": 42})
    migration_test.apply()
    # when
    back = migration_test.backwards()
    # then
    row = back.get_model("sales", "NumberSeries").objects.get(key="order")
    assert (row.prefix, row.padding, row.next_value) == ("SO-", 6, 42)


def test_finance_counters_move_and_numbers_continue(migration_test):
    # given: 41 invoices and 1000 journal entries numbered under the old finance series
    old = migration_test.before("finance", "0004_number_series_to_core")
    Series = old.get_model("finance", "NumberSeries")
    Series.objects.update_or_create(key="invoice", defaults={"prefix": "INV-", "next_value": 42})
    Series.objects.update_or_create(key="journal", defaults={"prefix": "", "next_value": 1001})
    # when
    new = migration_test.apply()
    # then
    moved = {s.key: (s.prefix, s.next_value) for s in new.get_model("core", "NumberSeries").objects.all()}
    assert moved["invoice"] == ("INV-", 42)
    assert moved["journal"] == ("", 1001)
    with transaction.atomic():
        assert finance_numbering.next_document_number("invoice") == "INV-000042"
        assert finance_numbering.take_values(finance_numbering.JOURNAL, 3) == 1001
        assert finance_numbering.next_value(finance_numbering.JOURNAL) == 1004


def test_edi_control_numbers_move_per_partner(migration_test):
    # given: two partners, one at 41, one at the last control number before ISA13 wraps
    old = migration_test.before("integrations", "0009_edi_control_numbers_to_core")
    Customer, Partner = old.get_model("sales", "Customer"), old.get_model("integrations", "EdiPartner")
    p41 = Partner.objects.create(code="p41", customer=Customer.objects.create(code="C-P41", name="P41"),
                                 isa_id="P41", last_control_number=41)
    wrap = Partner.objects.create(code="wrap", customer=Customer.objects.create(code="C-WRAP", name="Wrap"),
                                  isa_id="WRAP", last_control_number=999_999_999)
    # when
    migration_test.apply()
    # then: each partner's next interchange gets the number it would have got
    with transaction.atomic():
        assert edi._next_control(p41.pk)[1] == 42
        assert edi._next_control(p41.pk)[1] == 43
        assert edi._next_control(wrap.pk)[1] == 1
