"""finance.0013_tax_by_jurisdiction maps each existing tax rate's `jurisdiction` label to a
country and region (the rows and their rates survive), and adds the input tax account."""

from datetime import date
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_existing_jurisdictions_become_countries_and_regions(migration_test):
    # given: rates as they were kept before, by a free-text jurisdiction
    old = migration_test.before("finance", "0013_tax_by_jurisdiction")
    TaxRate = old.get_model("finance", "TaxRate")
    TaxRate.objects.all().delete()
    since = date(2020, 1, 1)
    for category, label, rate in (("standard", "default", "0.080000"), ("standard", "DE", "0.190000"),
                                  ("reduced", "de", "0.070000"), ("standard", "US-CA", "0.072500"),
                                  ("standard", "us_ny", "0.088750"), ("standard", "Springfield", "0.050000")):
        TaxRate.objects.create(category=category, jurisdiction=label, rate=Decimal(rate), valid_from=since)
    old.get_model("finance", "Account").objects.filter(role="input_tax").delete()

    # when
    new = migration_test.apply()

    # then: every row kept, with its place; a label that is no country matches nothing until fixed
    rows = {(r.category, r.jurisdiction): (r.country, r.region, r.rate)
            for r in new.get_model("finance", "TaxRate").objects.all()}
    assert rows == {
        ("standard", "default"): ("", "", Decimal("0.080000")),
        ("standard", "DE"): ("DE", "", Decimal("0.190000")),
        ("reduced", "de"): ("DE", "", Decimal("0.070000")),
        ("standard", "US-CA"): ("US", "CA", Decimal("0.072500")),
        ("standard", "us_ny"): ("US", "NY", Decimal("0.088750")),
        ("standard", "Springfield"): ("", "Springfield", Decimal("0.050000")),
    }
    account = new.get_model("finance", "Account").objects.get(role="input_tax")
    assert (account.type, account.name) == ("asset", "Input tax receivable")
