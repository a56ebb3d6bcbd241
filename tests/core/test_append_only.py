"""core.append_only: a webhook attempt, like a stock move, is inserted once and never changed."""

import pytest

from core.append_only import AppendOnlyError
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.integrations.helpers import publish_committed

pytestmark = pytest.mark.django_db


def test_webhook_attempts_refuse_update_and_delete_but_go_with_their_delivery():
    # given
    event = publish_committed()
    endpoint = WebhookEndpoint.objects.create(url="https://example.test/hook", secret="s", event_types=["*"])
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, event_type=event.type,
                                              subject=event.subject, event_position=event.position,
                                              correlation_id=event.correlation_id)
    attempt = WebhookAttempt.objects.create(delivery=delivery, number=1, status_code=500)
    # when / then
    attempt.status_code = 200
    with pytest.raises(AppendOnlyError, match="append-only"):
        attempt.save()
    with pytest.raises(AppendOnlyError):
        attempt.delete()
    with pytest.raises(AppendOnlyError):
        WebhookAttempt.objects.filter(pk=attempt.pk).update(status_code=200)
    with pytest.raises(AppendOnlyError):
        WebhookAttempt.objects.all().delete()
    assert WebhookAttempt.objects.get().status_code == 500
    # a delivery removed (retention) takes its attempts along
    delivery.delete()
    assert not WebhookAttempt.objects.exists()
