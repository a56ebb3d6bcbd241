"""EDI order changes (issue #17): an 850 with purpose "change" (BEG01=04) or an 860 is refused as
unsupported — the inbound message fails with a sentence saying so, the 997 rejects the set
(AK5 R with code 1 "transaction set not supported" for an 860, 5 for the BEG element), and no
order is created or changed. Amendments go through `sales/orders/{id}/amend/`."""

from __future__ import annotations

import pytest

from core import storage
from integrations.channels import edi, x12
from integrations.models import EdiDocument, InboundMessage
from sales.models import Order
from tests.integrations.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/edi/inbound/"
PO = fixture_bytes("edi_850_higher_price.x12").decode()


def _ack() -> list[tuple[str, list[str]]]:
    doc = EdiDocument.objects.get(transaction_set="997")
    (ts,) = x12.parse(storage.read_text(edi.outbox_name(doc))).transactions
    return [(s.id, s.elements) for s in ts.segments]


@pytest.mark.parametrize("mutate, set_id, code, words", [
    (lambda t: t.replace("BEG*00*SA", "BEG*04*SA"), "850", "5", "BEG01 04 (change) is not supported"),
    (lambda t: t.replace("GS*PO*", "GS*PC*").replace("ST*850*", "ST*860*").replace("BEG*00*SA", "BCH*04*SA"),
     "860", "1", "transaction set 860 (purchase order change) is not supported"),
], ids=["850-change", "860"])
def test_order_changes_are_refused_as_unsupported(ops_client, edi_partner, products, mutate, set_id, code, words):
    response = ops_client.post(URL, data=mutate(PO).encode(), content_type="text/plain")

    assert response.status_code == 400, response.content
    message = InboundMessage.objects.get(pk=response.json()["message_id"])
    assert message.status == "failed"
    assert words in message.error and "order changes are not accepted by EDI" in message.error
    assert not Order.objects.exists()
    ack = _ack()
    assert ack[1:] == [("AK2", [set_id, "0001"]), ("AK5", ["R", code]), ("AK9", ["R", "1", "1", "0"])]
