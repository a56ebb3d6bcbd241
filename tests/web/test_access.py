"""Who may open which page: the right role gets 200, the wrong role and partners 403,
anonymous visitors go to the login page. Runs on empty data, so it also proves every
page has an empty state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core import roles

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
STAFF = {A, OP, F, S}

# url name -> roles that may read it (admin always may): the permission matrix (core.access),
# written out by hand once more (tests/core/test_permission_matrix.py checks the matrix itself)
PAGES = {
    "web:dashboard-operations": {A, OP},
    "web:dashboard-finance": {A, F},
    "web:dashboard-support": {A, S},
    "web:dashboard-integrations": STAFF,
    "web:orders": STAFF,
    "web:order-new": {A, OP},
    "web:shipments": STAFF,
    "web:stock": STAFF,
    "web:ledger": STAFF,
    "web:cycle-count": {A, OP},
    "web:purchase-orders": {A, OP, F},
    "web:replenishment": {A, OP, F},
    "web:invoices": {A, F, S},
    "web:payments": {A, F, S},
    "web:payment-new": {A, F},
    "web:credit-notes": {A, F, S},
    "web:customer-credit": {A, F, S},
    "web:trial-balance": {A, F},
    "web:ar-aging": {A, F},
    "web:periods": {A, F},
    "web:exceptions": STAFF,
    "web:deliveries": STAFF,
    "web:inbound": STAFF,
    "web:events": STAFF,
    "web:reconciliations": STAFF,
    "web:report-pnl": {A, F},
    "web:report-balance-sheet": {A, F},
    "web:report-cash-flow": {A, F},
    "web:report-working-capital": {A, F},
    "web:report-margin": {A, F},
    "web:report-stock-aging": {A, OP, F},
    "web:bank-queue": {A, F},
    "web:bank-reconciliation": {A, F},
    "web:report-tax": {A, F},
    "web:quotations": STAFF,
    "web:quotation-new": {A, OP},
}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_role_gets_its_pages_and_only_those(clients, name):
    url = reverse(name)
    for role in (A, OP, F, S):
        response = clients[role].get(url)
        expected = 200 if role in PAGES[name] else 403
        assert response.status_code == expected, f"{role} on {url}: {response.status_code}"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_partner_is_refused_every_staff_page(clients, name):
    assert clients[roles.PARTNER].get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", sorted(PAGES))
def test_anonymous_is_sent_to_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_redirects_each_role_to_its_dashboard(clients):
    # before the company is set up, admin lands on the first-run page; the other roles as ever
    assert clients[A].get("/")["Location"] == reverse("web:setup")
    from core.company import save_company
    save_company(name="Northwind", currency="USD", country="US")
    assert clients[OP].get("/")["Location"] == reverse("web:dashboard-operations")
    assert clients[F].get("/")["Location"] == reverse("web:dashboard-finance")
    assert clients[S].get("/")["Location"] == reverse("web:dashboard-support")
    assert clients[A].get("/")["Location"] == reverse("web:dashboard-operations")
    assert clients[roles.PARTNER].get("/").status_code == 403


def test_navigation_puts_each_roles_work_first(clients):
    first = {}
    for role in (OP, F, S):
        html = clients[role].get(reverse("web:orders")).content.decode()
        nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
        first[role] = nav.split("<a href=\"", 1)[1].split('"', 1)[0]
    assert first == {OP: reverse("web:dashboard-operations"), F: reverse("web:dashboard-finance"),
                     S: reverse("web:dashboard-support")}


def test_login_page_is_accessible_markup(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'href="#main"' in html and '<main id="main"' in html


def test_login_with_password_lands_on_the_role_dashboard(db, client):
    from tests.conftest import make_user

    make_user("fin-login", F)
    response = client.post("/accounts/login/", {"username": "fin-login", "password": "pw-fin-login"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:dashboard-finance")
    assert b"Finance dashboard" in response.content


LISTS = ["web:orders", "web:shipments", "web:stock", "web:ledger", "web:purchase-orders", "web:invoices",
         "web:payments", "web:credit-notes", "web:customer-credit", "web:trial-balance", "web:ar-aging", "web:periods", "web:exceptions",
         "web:deliveries", "web:inbound", "web:events", "web:reconciliations"]


@pytest.mark.parametrize("name", LISTS)
def test_csv_export_of_empty_list_has_a_header_row(clients, name):
    response = clients[A].get(reverse(name) + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body.count("\n") == 1 and "," in body


def test_scripts_and_styles_are_served_from_the_repo_not_a_cdn(clients):
    import re

    from django.contrib.staticfiles import finders

    html = clients[OP].get(reverse("web:dashboard-operations")).content.decode()
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any("htmx.min.js" in a for a in assets) and any("chart.umd.min.js" in a for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
