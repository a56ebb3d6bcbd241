# ruff: noqa: F811  (the `invoiced` fixture imported from test_formatting.py, used as an argument)
"""#20 languages and formats: a user's language and time zone (core.preferences, the preferences
page, core.middleware.UserLocaleMiddleware) and pages, money, dates and chart labels in German.

Money sums come from the database (SQLite returns them without scale, PostgreSQL with the column's):
run on both, as tests/web/test_formatting.py says."""

from __future__ import annotations

import json
import re
import zoneinfo
from decimal import Decimal

import pytest
from babel.dates import format_date, format_time
from django.urls import reverse
from django.utils import timezone, translation

from core import roles
from core.models import UserPreference
from core.templatetags.erp_format import money
from tests.web import scenario
from tests.web.test_formatting import invoiced  # noqa: F401  (fixture: an order shipped and invoiced)

A, OP, F, S = roles.ADMIN, roles.OPERATIONS, roles.FINANCE, roles.SUPPORT
pytestmark = pytest.mark.django_db


def choose(client, *, language="", time_zone=""):
    response = client.post(reverse("web:preferences"), {"language": language, "time_zone": time_zone})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def test_the_preferences_page_is_in_the_user_menu_and_saves_the_choice(clients, web_users):
    html = clients[F].get(reverse("web:dashboard-finance")).content.decode()
    assert f'href="{reverse("web:preferences")}"' in html and 'lang="en"' in html
    page = clients[F].get(reverse("web:preferences"))
    assert page.status_code == 200 and b'name="language"' in page.content and b"Pacific/Auckland" in page.content
    choose(clients[F], language="de", time_zone="Europe/Berlin")
    pref = UserPreference.objects.get(user=web_users[F])
    assert (pref.language, pref.time_zone) == ("de", "Europe/Berlin")
    assert pref.history.count() == 1  # the change is in the history
    # the next page is German, with the success message in German too
    html = clients[F].get(reverse("web:preferences")).content.decode()
    assert 'lang="de"' in html and "Einstellungen gespeichert." in html and "Abmelden" in html


def test_an_unknown_language_or_zone_is_refused_and_nothing_written(clients, web_users):
    response = clients[F].post(reverse("web:preferences"), {"language": "xx", "time_zone": "Mars/Base"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "errorlist" in html and "xx" in html
    assert not UserPreference.objects.filter(user=web_users[F]).exists()


def test_without_a_preference_the_browser_decides_then_the_default(clients, web_users):
    german = clients[F].get(reverse("web:dashboard-finance"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert 'lang="de"' in german.content.decode() and "Finanz-Dashboard" in german.content.decode()
    assert german["Content-Language"] == "de" and "Accept-Language" in german["Vary"]
    other = clients[F].get(reverse("web:dashboard-finance"), HTTP_ACCEPT_LANGUAGE="fr-FR")
    assert "Finance dashboard" in other.content.decode()
    # a chosen language wins over the browser's
    choose(clients[F], language="en")
    english = clients[F].get(reverse("web:dashboard-finance"), HTTP_ACCEPT_LANGUAGE="de")
    assert "Finance dashboard" in english.content.decode() and "Finanz-Dashboard" not in english.content.decode()
    # and nothing leaks to the code running after the request on the same thread
    assert translation.get_language() in ("en-us", "en")


def test_a_page_in_german_shows_german_words_money_dates_and_chart_labels(clients, invoiced):
    from finance.models import Invoice

    invoices = list(Invoice.objects.all())
    open_ar = sum((i.balance_due for i in invoices), Decimal("0"))
    choose(clients[F], language="de")
    finance = clients[F].get(reverse("web:dashboard-finance"))
    html = finance.content.decode()
    assert finance.status_code == 200
    for german in ("Finanz-Dashboard", "Überfällige Rechnungen", "Offene Forderungen", "Abmelden", "Rechnungen"):
        assert german in html, german
    assert "Overdue invoices" not in html and "Sign out" not in html
    with translation.override("de"):
        expected = money(open_ar, "USD")
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d\xa0\$", expected), expected  # 1.234,56 $
    assert f'data-kpi="open_ar">{expected}<' in html
    # charts: German titles, series and day labels (7.12.), the table under each in German money
    spec = json.loads(re.search(r'<script id="invoiced-days-data" type="application/json">(.*?)</script>',
                                html, re.S).group(1))
    assert spec["locale"] == "de" and spec["datasets"][0]["label"] == "Fakturiert"
    assert all(re.fullmatch(r"\d{1,2}\.\d{1,2}\.", day) for day in spec["labels"]), spec["labels"]
    assert "Fakturiert pro Tag, letzte 14 Tage" in html
    # a list: German column headers and dates in the German medium form
    listing = clients[F].get(reverse("web:invoices")).content.decode()
    issued = format_date(invoices[0].issue_date, format="medium", locale="de")
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", issued) and issued in listing
    assert "Ausgestellt" in listing and "Offener Betrag" in listing


def test_the_same_page_in_english_keeps_english_formats(clients, invoiced):
    from finance.models import Invoice

    open_ar = sum((i.balance_due for i in Invoice.objects.all()), Decimal("0"))
    html = clients[F].get(reverse("web:dashboard-finance")).content.decode()
    with translation.override("en"):
        expected = money(open_ar, "USD")
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", expected) and f'data-kpi="open_ar">{expected}<' in html
    assert "Finance dashboard" in html


def test_times_are_shown_in_the_users_time_zone(clients, db):
    sc = scenario.build()
    opened = sc.exception.opened_at
    choose(clients[S], language="de", time_zone="Pacific/Auckland")
    html = clients[S].get(reverse("web:exception", args=[sc.exception.pk])).content.decode()
    local = timezone.localtime(opened, zoneinfo.ZoneInfo("Pacific/Auckland"))
    shown = f"{format_date(local.date(), format='medium', locale='de')}, {format_time(local.time(), format='short', locale='de')}"
    assert shown in html, shown
    utc = timezone.localtime(opened, zoneinfo.ZoneInfo("UTC"))
    assert utc.hour != local.hour  # Auckland is 12 or 13 hours ahead: the page did not show UTC
    # another user, no zone chosen: the server's (settings.TIME_ZONE)
    html = clients[F].get(reverse("web:exception", args=[sc.exception.pk])).content.decode()
    server = timezone.localtime(opened)
    assert format_time(server.time(), format="short", locale="en") in html


def test_api_error_titles_follow_accept_language(web_users):
    from tests.conftest import client_for

    api = client_for(web_users[A])
    english = api.get("/api/v1/nowhere/")
    german = api.get("/api/v1/nowhere/", HTTP_ACCEPT_LANGUAGE="de")
    assert english.status_code == german.status_code == 404
    assert english.json()["title"] == "Not found" and german.json()["title"] == "Nicht gefunden"
    assert english.json()["code"] == german.json()["code"] == "not_found"  # the code stays stable
