"""Admin pages of integrations render, and the replay / reprocess actions go through services."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations import webhooks
from integrations.inbound import receive_message
from integrations.models import WebhookDelivery
from tests.integrations.helpers import NEUTRAL_TYPE, create_deliveries, publish_committed

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("path", ["core/outboxevent", "core/consumerfailure", "core/consumedevent",
                                  "integrations/webhookendpoint", "integrations/webhookdelivery",
                                  "integrations/inboundmessage", "integrations/channelconfig", "integrations/edipartner",
                                  "integrations/edidocument"])
def test_changelists_render(browser, path):
    assert browser.get(f"/admin/{path}/").status_code == 200


def test_detail_pages_and_actions(browser, receiver, django_capture_on_commit_callbacks):
    endpoint, _ = webhooks.create_endpoint(url=receiver.url, event_types=[NEUTRAL_TYPE])
    create_deliveries([publish_committed()])
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="dead")
    message = receive_message(channel="csv", body=b"external_ref,sku,quantity\n")
    assert browser.get(f"/admin/integrations/webhookdelivery/{delivery.pk}/change/").status_code == 200
    assert browser.get(f"/admin/integrations/inboundmessage/{message.pk}/change/").status_code == 200
    assert browser.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/admin/integrations/webhookdelivery/",
                                {"action": "replay", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"

    from integrations.inbound import process_message

    process_message(message_id=message.pk)
    response = browser.post("/admin/integrations/inboundmessage/",
                            {"action": "reprocess", "_selected_action": [message.pk]})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 2
