"""Customers keep their payment days and get the matching payment terms (sales 0010)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_customers_get_the_terms_of_their_days(migration_test):
    # given: customers on 30, 45 and 0 days (core 0010 seeded NET30, NET60, 2/10NET30, DUE)
    old = migration_test.before("sales", "0010_payment_terms")
    Customer = old.get_model("sales", "Customer")
    Terms = old.get_model("core", "PaymentTerms")  # as core 0010 seeds them (a flushed test database lost them)
    for code, name, net, pct, days in (("NET30", "30 days net", 30, 0, 0), ("2/10NET30", "2 % 10, net 30", 30, 2, 10),
                                       ("DUE", "Due on receipt", 0, 0, 0)):
        Terms.objects.get_or_create(code=code, defaults={"name": name, "net_days": net, "discount_percent": pct,
                                                         "discount_days": days})
    for code, days in (("MIG-30", 30), ("MIG-45", 45), ("MIG-0", 0), ("MIG-30B", 30)):
        Customer.objects.create(code=code, name=code, payment_terms_days=days)
    # when
    new = migration_test.apply()
    # then: each keeps its days; 30 → NET30 (not the discount terms), 0 → DUE, 45 → a new NET45
    rows = {c.code: (c.payment_terms_days, c.payment_terms.code, c.payment_terms.net_days,
                     c.payment_terms.discount_percent)
            for c in new.get_model("sales", "Customer").objects.filter(code__startswith="MIG-")}
    assert rows == {"MIG-30": (30, "NET30", 30, 0), "MIG-30B": (30, "NET30", 30, 0), "MIG-45": (45, "NET45", 45, 0),
                    "MIG-0": (0, "DUE", 0, 0)}
