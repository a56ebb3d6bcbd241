"""X12 numbers are ASCII digits only and a syntax error is answered with a 997 R (never a 500
or a silent drop); duplicate interchanges key on sender + ISA13 + ISA15, and a reused control
number with other content is flagged (issue 14)."""

from __future__ import annotations

import pytest

from core import storage
from integrations.channels import edi, x12
from integrations.models import EdiDocument, InboundMessage
from tests.integrations.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/edi/inbound/"
TWO_POS = fixture_bytes("edi_850_two_pos.x12").decode()
PARSE = x12.parse  # the real parser, also when a test replaces x12.parse


def post_x12(client, text: str):
    return client.post(URL, data=text.encode(), content_type="text/plain")


def edi_orders():
    from sales.models import Order

    return Order.objects.filter(channel="edi")


def the_997() -> x12.Interchange:
    doc = EdiDocument.objects.get(transaction_set="997")
    return PARSE(storage.read_text(edi.outbox_name(doc)))


@pytest.mark.parametrize("mutate, element", [
    (lambda t: t.replace("SE*10*0001", "SE*\u00b2*0001"), "SE01"),                   # superscript two
    (lambda t: t.replace("SE*10*0001", "SE*\u0661\u0660*0001"), "SE01"),             # Arabic-Indic 10
    (lambda t: t.replace("GE*2*4711", "GE*\uff12*4711"), "GE01"),                    # full-width 2
    (lambda t: t.replace("IEA*1*", "IEA*\u00b9*"), "IEA01"),                         # superscript one
    (lambda t: t.replace("*000000905*", "*00000090\u0665*").replace("IEA*1*000000905", "IEA*1*00000090\u0665"),
     "ISA13"),
    (lambda t: t.replace("GS*PO*ACMEBUYER*NORTHWIND*20261127*1304*4711", "GS*PO*ACMEBUYER*NORTHWIND*20261127*1304*47\u00b9")
     .replace("GE*2*4711", "GE*2*47\u00b9"), "GS06"),
    (lambda t: t.replace("CTT*2~", "CTT*\u00b2~"), "CTT01"),
    (lambda t: t.replace("PO1*1*10*EA", "PO1*1*\u0661\u0660*EA"), "PO102"),          # Decimal() takes these
    (lambda t: t.replace("PO1*1*10*EA", "PO1*1*1_0*EA"), "PO102"),                   # and this
    (lambda t: t.replace("PO1*1*10*EA", "PO1*1*1E1*EA"), "PO102"),
    (lambda t: t.replace("PO1*1*10*EA**", "PO1*1*10*EA*\u0665.00*"), "PO104"),
])
def test_non_ascii_digits_are_a_syntax_error_answered_with_a_997_reject(ops_client, edi_partner, products,
                                                                       mutate, element):
    text = mutate(TWO_POS)
    assert text != TWO_POS
    response = post_x12(ops_client, text)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert f"element {element}" in response.json()["detail"]
    assert not edi_orders().exists()
    assert InboundMessage.objects.get().status == "failed"
    ack = the_997().transactions[0]
    assert ack.find("AK9")[0].elements[0] == "R"


def test_an_unexpected_parser_error_is_still_a_997_reject(ops_client, edi_partner, products, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a check the codec lacks")

    monkeypatch.setattr(x12, "parse", broken)
    response = post_x12(ops_client, TWO_POS)
    assert response.status_code == 400
    assert "unreadable interchange (ValueError)" in response.json()["detail"]
    assert the_997().transactions[0].find("AK9")[0].elements[0] == "R"


def test_the_same_control_number_as_test_and_production_are_two_interchanges(ops_client, edi_partner, products):
    test_run = TWO_POS.replace("*0*P*>~", "*0*T*>~").replace("PO-8800", "PO-T-8800")
    assert test_run != TWO_POS
    assert post_x12(ops_client, test_run).status_code == 201
    production = post_x12(ops_client, TWO_POS)
    assert production.status_code == 201, production.json()
    assert production.json()["status"] == "processed"
    assert edi_orders().count() == 4


def test_an_exact_resend_is_a_harmless_duplicate(ops_client, edi_partner, products, drain):
    assert post_x12(ops_client, TWO_POS).status_code == 201
    again = post_x12(ops_client, TWO_POS)
    assert again.status_code == 200 and again.json()["status"] == "ignored"
    drain()
    from ops.models import ExceptionItem

    assert not ExceptionItem.objects.filter(kind="inbound_message_conflict").exists()


def test_a_reused_control_number_with_other_content_is_flagged_not_dropped(ops_client, edi_partner, products,
                                                                          drain):
    assert post_x12(ops_client, TWO_POS).status_code == 201
    other = TWO_POS.replace("PO1*1*10*EA", "PO1*1*12*EA").replace("PO-88001", "PO-99001")

    response = post_x12(ops_client, other)

    assert response.status_code == 409, response.content
    problem = response.json()
    assert problem["code"] == "control_number_reused"
    assert "different content" in problem["detail"]
    original = InboundMessage.objects.get(status="processed")
    flagged = InboundMessage.objects.get(pk=problem["message_id"])
    assert (flagged.status, flagged.duplicate_of_id) == ("rejected", original.pk)
    assert bytes(flagged.body) == other.encode()  # an authenticated partner's body is kept for support
    assert edi_orders().count() == 2 and not edi_orders().filter(external_ref="acme/PO-99001").exists()
    drain()
    from ops.models import ExceptionItem

    item = ExceptionItem.objects.get(kind="inbound_message_conflict", key=str(flagged.pk))
    assert item.owner_role == "support" and item.status == "open"
