"""Demo users, one per staff role (passwords equal the usernames; demo only), and the demo
company. `business_transaction` gives each seeded business transaction (a receipt, an order
with its shipment) its own correlation id, so a demo order's trace lists that order only."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import User

from core import company, context, roles


def business_transaction(label: str):
    """A correlation context for one seeded business transaction: `seed-demo-<label>-<random>`."""
    return context.correlation(f"seed-demo-{label}-{uuid.uuid4().hex[:10]}")


DEMO_USERS = [("admin", roles.ADMIN), ("ops", roles.OPERATIONS), ("finance", roles.FINANCE),
              ("support", roles.SUPPORT)]


def seed(stdout) -> None:
    if not company.is_set_up():  # the demo distributor, so the first-run page is not shown
        company.save_company(name=settings.ERP["COMPANY_NAME"], currency=settings.ERP["CURRENCY"], country="US",
                             address_line1="1 Distribution Way", city="Chicago", region="IL", postcode="60601")
    roles.ensure_role_groups()
    for username, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        if created:
            user.set_password(username)
            user.save()
        roles.assign_role(user, role)
    stdout.write(f"  users: {', '.join(u for u, _ in DEMO_USERS)}")
