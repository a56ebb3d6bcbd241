"""Existing webhook secrets and shop credentials are encrypted in place (and leave the history
tables); signing and verification go on with the same secrets; backwards restores them."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from django.db import connection

from integrations.channels.common import verify_base64_hmac
from integrations.models import ChannelConfig, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = ("integrations", "0011_secrets_encrypted_at_rest")
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def raw(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def seed(old) -> None:
    old.get_model("integrations", "WebhookEndpoint").objects.create(
        url="https://partner.example.com/hook", event_types=["*"], secret=WHSEC, previous_secret="")
    old.get_model("integrations", "ChannelConfig").objects.create(
        kind="woocommerce", shop_domain="shop.example.com", webhook_secret="wc-hook-secret",
        api_key="ck_plain", api_secret="cs_plain")
    old.get_model("integrations", "HistoricalWebhookEndpoint").objects.create(
        id=1, url="https://partner.example.com/hook", event_types=["*"], secret=WHSEC, previous_secret="",
        is_active=True, ordered_by_subject=True, disabled_reason="", description="",
        created_at="2026-01-01T00:00:00Z", history_date="2026-01-01T00:00:00Z", history_type="+")


def test_existing_secrets_are_encrypted_and_still_sign(migration_test):
    seed(migration_test.before(*MIGRATION))
    migration_test.apply()
    stored = repr(raw("SELECT * FROM integrations_webhookendpoint") + raw("SELECT * FROM integrations_channelconfig")
                  + raw("SELECT * FROM integrations_historicalwebhookendpoint"))
    for plain in (WHSEC, "wc-hook-secret", "ck_plain", "cs_plain"):
        assert plain not in stored
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.signing_secrets() == [WHSEC]
    shop = ChannelConfig.objects.get()
    assert (shop.webhook_secret, shop.api_key, shop.api_secret) == ("wc-hook-secret", "ck_plain", "cs_plain")
    body = b'{"id": 1}'
    header = base64.b64encode(hmac.new(b"wc-hook-secret", body, hashlib.sha256).digest()).decode()
    verify_base64_hmac(secret=shop.webhook_secret, body=body, header_value=header, header_name="X-WC-Webhook-Signature")


def test_backwards_restores_the_plain_values(migration_test):
    seed(migration_test.before(*MIGRATION))
    migration_test.apply()
    migration_test.backwards()
    assert raw("SELECT secret FROM integrations_webhookendpoint") == [(WHSEC,)]
    assert raw("SELECT webhook_secret, api_key, api_secret FROM integrations_channelconfig") == \
        [("wc-hook-secret", "ck_plain", "cs_plain")]
