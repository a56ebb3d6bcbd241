"""The 997 functional acknowledgement of an 850 interchange with two transaction sets, one
bad: every AK segment, exactly.

A semantic error in one set (a bad element, a missing segment, a wrong count) rejects the
whole interchange by design (integrations/channels/edi.py): AK5=R on both sets, the error
code on the faulty one, AK9=R with 0 accepted. A business refusal (an unknown SKU) is not an
X12 error: the 997 accepts both sets, and only the good purchase order becomes an order.
"""

from __future__ import annotations

import pytest

from core import storage
from integrations.channels import edi, x12
from integrations.models import EdiDocument, InboundMessage
from tests.integrations.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/edi/inbound/"


def _post(client, body: str):
    return client.post(URL, data=body.encode(), content_type="text/plain")


def _ack_segments() -> tuple[x12.Interchange, list[tuple[str, list[str]]]]:
    doc = EdiDocument.objects.get(transaction_set="997")
    text = storage.read_text(edi.outbox_name(doc))
    assert text == doc.content
    parsed = x12.parse(text)
    (ts,) = parsed.transactions
    assert (ts.id, [g.functional_id for g in parsed.groups]) == ("997", ["FA"])
    return parsed, [(s.id, s.elements) for s in ts.segments]


def _edi_orders():
    from sales.models import Order

    return list(Order.objects.filter(channel="edi").order_by("external_ref").values_list("external_ref", flat=True))


TWO_POS = fixture_bytes("edi_850_two_pos.x12").decode()


@pytest.mark.parametrize("bad_set, mutate", [
    (1, lambda t: t.replace("PO1*2*4*EA", "PO1*2*four*EA")),                       # PO102 not a number
    (1, lambda t: t.replace("PO1*1*10*EA", "PO1*1*0*EA")),                         # PO102 not > 0
    (1, lambda t: t.replace("CTT*2~", "CTT*3~")),                                  # CTT01 ≠ number of PO1
    (2, lambda t: t.replace("*VP*GIZMO-3*BP*ACME-GIZMO-3", "*BP*ACME-GIZMO-3")),  # PO1 without our part id
    (2, lambda t: t.replace("BEG*00*SA*PO-88002**", "BEG*00*SA***")),              # BEG03 (PO number) empty
    (2, lambda t: t.replace("BEG*00*SA*PO-88002**20261127~\n", "").replace("SE*9*0002", "SE*8*0002")),  # no BEG
], ids=["po102-text", "po102-zero", "ctt-count", "no-part-id", "no-po-number", "no-beg"])
def test_semantic_error_in_one_set_rejects_the_interchange_naming_that_set(ops_client, edi_partner, products,
                                                                          bad_set, mutate):
    # given / when: an interchange of two 850s, one semantically bad
    response = _post(ops_client, mutate(TWO_POS))

    # then: refused, nothing ordered, the message kept as failed
    assert response.status_code == 400, response.json()
    assert _edi_orders() == []
    assert InboundMessage.objects.get(pk=response.json()["message_id"]).status == "failed"
    # and: the 997 rejects both sets, the code "5" (segment in error) on the bad one
    parsed, segments = _ack_segments()
    assert parsed.receiver == ("ZZ", "ACMEBUYER")
    ak5 = {1: ["R"], 2: ["R"]}
    ak5[bad_set] = ["R", "5"]
    assert segments == [
        ("AK1", ["PO", "4711"]),
        ("AK2", ["850", "0001"]), ("AK5", ak5[1]),
        ("AK2", ["850", "0002"]), ("AK5", ak5[2]),
        ("AK9", ["R", "2", "2", "0"]),
    ]


def test_business_refusal_of_one_set_is_functionally_accepted_and_only_the_good_po_ordered(
        ops_client, edi_partner, products):
    # given / when: the second 850 orders a SKU we do not know
    response = _post(ops_client, TWO_POS.replace("VP*GIZMO-3", "VP*GIZMO-9"))

    # then: one order, the other PO reported; the message failed (reprocessable)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed" and [o["ref"] for o in body["orders"]] == ["PO-88001"]
    assert _edi_orders() == ["acme/PO-88001"]
    # and: both sets were syntactically and semantically fine: the 997 accepts both
    _, segments = _ack_segments()
    assert segments == [
        ("AK1", ["PO", "4711"]),
        ("AK2", ["850", "0001"]), ("AK5", ["A"]),
        ("AK2", ["850", "0002"]), ("AK5", ["A"]),
        ("AK9", ["A", "2", "2", "2"]),
    ]
