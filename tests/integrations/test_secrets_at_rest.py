"""Secrets at rest (issue 14): webhook and shop secrets are encrypted in the database, never in the
idempotency table, never shown again by the admin; a production start without SECRETS_KEY fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client

from core import encryption
from core.models import IdempotencyRecord
from integrations import webhooks
from integrations.models import ChannelConfig, WebhookEndpoint

pytestmark = pytest.mark.django_db
ENDPOINTS = "/api/v1/integrations/webhook-endpoints/"
ROOT = Path(__file__).resolve().parents[2]


def table_text(model) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
        return repr(cursor.fetchall())


def everything_stored() -> str:
    history = [WebhookEndpoint.history.model, ChannelConfig.history.model]
    return "".join(table_text(m) for m in (WebhookEndpoint, ChannelConfig, IdempotencyRecord, *history))


def test_created_and_rotated_secrets_stay_out_of_the_tables_and_replays_answer_the_same(
        partner_client, customer, receiver):
    payload = {"url": receiver.url + "/h", "event_types": ["sales.shipment.shipped.v1"]}
    created = partner_client.post(ENDPOINTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    secret = created.json()["secret"]
    endpoint_id = created.json()["id"]
    rotated = partner_client.post(f"{ENDPOINTS}{endpoint_id}/rotate-secret/", {"overlap_hours": 1},
                                  format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    new_secret = rotated.json()["secret"]
    assert rotated.status_code == 200 and new_secret != secret

    stored = everything_stored()
    for value in (secret, new_secret, secret.removeprefix("whsec_"), new_secret.removeprefix("whsec_")):
        assert value not in stored
    assert IdempotencyRecord.objects.filter(response_encrypted=True).count() == 2

    # a retry with the same key gets the first answer again (the caller already holds the secret)
    again = partner_client.post(f"{ENDPOINTS}{endpoint_id}/rotate-secret/", {"overlap_hours": 1},
                                format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert again["Idempotent-Replayed"] == "true" and again["Cache-Control"] == "no-store"
    assert again.status_code == 200 and again.json()["secret"] == new_secret
    assert WebhookEndpoint.objects.get().signing_secrets() == [new_secret, secret]


def test_the_stored_response_is_the_encrypted_body(partner_client, customer, receiver):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=["*"], customer=customer)
    response = partner_client.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {"overlap_hours": 0},
                                   format="json", HTTP_IDEMPOTENCY_KEY="k")
    record = IdempotencyRecord.objects.get(key="k")
    assert record.response_encrypted and response.json()["secret"] not in record.response_body
    assert encryption.decrypt(record.response_body) == response.content.decode()


def test_shop_credentials_are_encrypted_and_verification_still_works(shopify_config):
    ChannelConfig.objects.filter(pk=shopify_config.pk).update(api_key="ck_live_1", api_secret="cs_live_1")
    stored = table_text(ChannelConfig) + table_text(ChannelConfig.history.model)
    for value in ("shpss_test_secret_1234", "ck_live_1", "cs_live_1"):
        assert value not in stored
    shop = ChannelConfig.objects.get()
    assert (shop.webhook_secret, shop.api_key, shop.api_secret) == ("shpss_test_secret_1234", "ck_live_1", "cs_live_1")


def test_rotate_secrets_key_reencrypts_with_the_new_key(settings, customer, shopify_config):
    endpoint, secret = webhooks.create_endpoint(url="https://partner.example.com/h", event_types=["*"],
                                                customer=customer)
    record = IdempotencyRecord.objects.create(principal="p", key="k", fingerprint="f", method="POST", path="/x",
                                              response_body=encryption.encrypt('{"secret": "s"}'),
                                              response_encrypted=True)
    old_keys = list(settings.SECRETS_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_KEYS = [new_key, *old_keys]
    call_command("rotate_secrets_key")
    settings.SECRETS_KEYS = [new_key]  # the old key dropped: everything still reads
    assert WebhookEndpoint.objects.get().secret == secret
    assert ChannelConfig.objects.get().webhook_secret == "shpss_test_secret_1234"
    record.refresh_from_db()
    assert encryption.decrypt(record.response_body) == '{"secret": "s"}'
    settings.SECRETS_KEYS = old_keys  # and the old key alone no longer does
    with pytest.raises(Exception, match="cannot be decrypted"):
        WebhookEndpoint.objects.get()


def test_admin_never_shows_a_stored_secret_and_an_empty_field_keeps_it(admin_user, shopify_config, customer):
    endpoint, secret = webhooks.create_endpoint(url="https://partner.example.com/h", event_types=["*"],
                                                customer=customer)
    client = Client()
    client.force_login(admin_user)
    assert secret not in client.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    page = client.get(f"/admin/integrations/channelconfig/{shopify_config.pk}/change/").content.decode()
    assert "shpss_test_secret_1234" not in page
    response = client.post(f"/admin/integrations/channelconfig/{shopify_config.pk}/change/", {
        "kind": "shopify", "shop_domain": "renamed.myshopify.com", "webhook_secret": "", "api_key": "",
        "api_secret": "", "default_customer": shopify_config.default_customer_id, "api_base_url": "",
        "fulfillment_policy": "ship_partial", "is_active": "on"})
    assert response.status_code == 302
    shop = ChannelConfig.objects.get()
    assert (shop.shop_domain, shop.webhook_secret) == ("renamed.myshopify.com", "shpss_test_secret_1234")


def _start(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRETS_KEY", "DJANGO_SETTINGS_MODULE")}
    env.update({"DEBUG": "0", "ERP_TESTING": "0", "SECRET_KEY": "x" * 50, **env_overrides})
    return subprocess.run([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
                           "'config.settings'; django.setup()"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_production_refuses_to_start_without_secrets_key():
    refused = _start({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})
    assert refused.returncode != 0 and "SECRETS_KEY is not set" in refused.stderr
    assert _start({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
                   "SECRETS_KEY": Fernet.generate_key().decode()}).returncode == 0
    # the embedded setup (SQLite) has a development key
    assert _start({"DATABASE_URL": f"sqlite:///{ROOT / 'var' / 'never-created.sqlite3'}"}).returncode == 0
