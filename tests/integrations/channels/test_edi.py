"""EDI X12: 850 in (→ orders + 997), 855/856/810 out to the partner's folder, re-parseable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import storage
from integrations.channels import edi, x12
from integrations.models import EdiDocument, InboundMessage
from tests.integrations.conftest import fixture_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/edi/inbound/"


def post_x12(client, body: bytes, **headers):
    return client.post(URL, data=body, content_type="text/plain", **headers)


def edi_orders():
    from sales.models import Order

    return Order.objects.filter(channel="edi").order_by("external_ref")


def outbox_text(doc: EdiDocument) -> str:
    """The document's file, read back from the shared storage (an in-memory one in tests)."""
    return storage.read_text(edi.outbox_name(doc))


def test_850_with_two_purchase_orders_makes_two_orders_and_an_accepting_997(ops_client, edi_partner, products,
                                                                            customer):
    response = post_x12(ops_client, fixture_bytes("edi_850_two_pos.x12"), HTTP_X_CORRELATION_ID="edi-905")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "processed" and len(body["orders"]) == 2
    first, second = edi_orders()
    assert (first.external_ref, second.external_ref) == ("acme/PO-88001", "acme/PO-88002")
    assert first.customer == second.customer == customer
    assert [(ln.sku, ln.quantity) for ln in first.lines.order_by("line_no")] == [
        ("WIDGET-1", Decimal("10")), ("GADGET-2", Decimal("4"))]
    assert "Dock B" in first.shipping_address and "Dayton OH 45402" in first.shipping_address
    # each PO is its own business transaction, traceable to the message
    assert {first.correlation_id, second.correlation_id} == {"edi-905.1", "edi-905.2"}

    ack = EdiDocument.objects.get(transaction_set="997")
    parsed = x12.parse(outbox_text(ack))
    (ts,) = parsed.transactions
    assert parsed.receiver == ("ZZ", "ACMEBUYER")
    assert ts.find("AK1")[0].elements == ["PO", "4711"]
    assert [s.elements for s in ts.find("AK5")] == [["A"], ["A"]]
    assert ts.find("AK9")[0].elements == ["A", "2", "2", "2"]


def test_the_same_interchange_twice_is_recorded_and_ignored(ops_client, edi_partner, products):
    assert post_x12(ops_client, fixture_bytes("edi_850_two_pos.x12")).status_code == 201
    again = post_x12(ops_client, fixture_bytes("edi_850_two_pos.x12"))
    assert again.status_code == 200 and again.json()["status"] == "ignored"
    assert edi_orders().count() == 2
    assert InboundMessage.objects.filter(channel="edi").count() == 2


def test_other_separators_declared_in_isa_are_honoured(ops_client, edi_partner, products):
    response = post_x12(ops_client, fixture_bytes("edi_850_pipe_separators.x12"))
    assert response.status_code == 201, response.json()
    assert edi_orders().get().external_ref == "acme/PO-88003"


def test_malformed_850_is_a_clear_400_a_stored_failed_message_and_a_rejecting_997(ops_client, edi_partner,
                                                                                products):
    response = post_x12(ops_client, fixture_bytes("edi_850_bad_count.x12"))

    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert "segment 21 (SE), element SE01" in problem["detail"]
    assert problem["errors"] == {"SE01": ["segment 21 (SE), element SE01: SE01 says 7 segments but the set has 9"]}
    assert not edi_orders().exists()  # strict: not even the good first PO
    message = InboundMessage.objects.get(pk=problem["message_id"])
    assert message.status == "failed" and bytes(message.body) == fixture_bytes("edi_850_bad_count.x12")
    ack = x12.parse(outbox_text(EdiDocument.objects.get(transaction_set="997")))
    ts = ack.transactions[0]
    assert [s.elements for s in ts.find("AK5")] == [["R"], ["R", "4"]]
    assert ts.find("AK9")[0].elements == ["R", "2", "2", "0"]


@pytest.mark.parametrize("mutate, fragment", [
    (lambda t: t.replace("PO1*2*4*EA", "PO1*2*four*EA"), "element PO102: quantity 'four' is not a number"),
    (lambda t: t.replace("*VP*GIZMO-3*BP*ACME-GIZMO-3", "*BP*ACME-GIZMO-3"), "element PO106: no product id"),
    (lambda t: t.replace("CTT*2~", "CTT*3~"), "CTT01 says '3' line items"),
    (lambda t: t.replace("BEG*00*SA*PO-88002**20261127~\n", "").replace("SE*9*0002", "SE*8*0002"),
     "BEG segment is missing"),
])
def test_semantic_errors_name_the_segment(ops_client, edi_partner, products, mutate, fragment):
    body = mutate(fixture_bytes("edi_850_two_pos.x12").decode()).encode()
    response = post_x12(ops_client, body)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert not edi_orders().exists()


def test_unknown_sender_fails_without_a_997(ops_client, products):
    response = post_x12(ops_client, fixture_bytes("edi_850_two_pos.x12"))
    assert response.status_code == 400
    assert "unknown trading partner ZZ:ACMEBUYER" in response.json()["detail"]
    assert not EdiDocument.objects.exists()


def test_unknown_sku_fails_that_po_only_and_the_message_can_be_reprocessed(ops_client, admin_client, edi_partner,
                                                                           products):
    body = fixture_bytes("edi_850_two_pos.x12").decode().replace("VP*GIZMO-3", "VP*GIZMO-9").encode()
    response = post_x12(ops_client, body)
    assert response.status_code == 200  # one order created, the other reported
    data = response.json()
    assert data["status"] == "failed" and [o["ref"] for o in data["orders"]] == ["PO-88001"]
    assert "GIZMO-9" in data["error"]
    from tests.factories.inventory import ProductFactory

    ProductFactory(sku="GIZMO-9", list_price="7.00")
    again = admin_client.post(f"/api/v1/integrations/inbound-messages/{data['id']}/reprocess/")
    assert again.status_code == 200 and again.json()["status"] == "processed"
    assert edi_orders().count() == 2


def test_partner_may_only_send_as_itself(partner_client, other_customer, products):
    from integrations.models import EdiPartner

    EdiPartner.objects.create(code="globex", customer=other_customer, isa_id="ACMEBUYER")
    response = post_x12(partner_client, fixture_bytes("edi_850_two_pos.x12"))
    assert response.status_code == 404
    assert not edi_orders().exists()


def test_855_856_810_are_written_for_an_accepted_shipped_invoiced_order(ops_client, edi_partner, products, drain):
    from sales import services as sales_services
    from sales.models import Shipment

    # given: an EDI order
    post_x12(ops_client, fixture_bytes("edi_850_two_pos.x12"))
    order = edi_orders().first()
    drain()  # order accepted → 855
    ack = EdiDocument.objects.get(transaction_set="855", order_id=order.pk)
    bak = x12.parse(outbox_text(ack)).transactions[0].find("BAK")[0]
    assert bak.get(2) == "AC" and bak.get(3) == "PO-88001"

    # when: shipped (and invoiced by finance's consumer)
    shipment = Shipment.objects.get(order=order)
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z999AA10123456784")
    drain()

    # then: the 856 and the 810 exist in the partner's folder and parse back
    asn = EdiDocument.objects.get(transaction_set="856", order_id=order.pk)
    ts = x12.parse(outbox_text(asn)).transactions[0]
    assert ts.find("BSN")[0].get(2) == shipment.number
    assert ts.find("REF")[0].elements == ["CN", "1Z999AA10123456784"]
    assert ts.find("PRF")[0].get(1) == "PO-88001"
    assert [(s.get(3), ) for s in ts.find("LIN")] == [("WIDGET-1",), ("GADGET-2",)]
    assert [s.get(2) for s in ts.find("SN1")] == ["10", "4"]
    assert asn.correlation_id == order.correlation_id

    invoice_doc = EdiDocument.objects.get(transaction_set="810", order_id=order.pk)
    ts = x12.parse(outbox_text(invoice_doc)).transactions[0]
    big = ts.find("BIG")[0]
    assert big.get(4) == "PO-88001"
    it1 = ts.find("IT1")
    assert [(s.get(2), s.get(7)) for s in it1] == [("10", "WIDGET-1"), ("4", "GADGET-2")]
    from finance.models import Invoice

    invoice = Invoice.objects.get(order_id=order.pk)
    assert big.get(2) == invoice.number
    assert ts.find("TDS")[0].get(1) == str(int(invoice.total * 100))
    assert edi.outbox_name(invoice_doc).split("/")[-2] == "acme"

    # every event of the flow (order, shipment, invoice…) matches its catalogue schema
    from core.messaging import catalogue
    from core.messaging.models import OutboxEvent

    for event in OutboxEvent.objects.all():
        catalogue.validate_payload(event.type, event.data)

    # a repeated event writes nothing twice; documents are listed by the API
    drain()
    assert EdiDocument.objects.filter(order_id=order.pk).count() == 3
    listing = ops_client.get("/api/v1/integrations/edi/documents/", {"order_id": order.pk})
    assert sorted(d["transaction_set"] for d in listing.json()["results"]) == ["810", "855", "856"]


@pytest.mark.parametrize("body, fragment", [
    (fixture_bytes("edi_850_two_pos.x12")[:500], "does not end with a segment terminator"),
    (fixture_bytes("edi_850_two_pos.x12").replace(b"*P*>~", b"*P*A~", 1), "bad component separator"),
    (fixture_bytes("edi_850_two_pos.x12").replace(b"Dock B", b"Dock \xe9"), "not valid UTF-8"),
    (b"hello, this is not X12", "must begin with an ISA"),
])
def test_truncated_badly_separated_or_non_utf8_interchanges_are_kept_as_failed(ops_client, edi_partner, body,
                                                                              fragment):
    response = post_x12(ops_client, body)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    message = InboundMessage.objects.get(pk=response.json()["message_id"])
    assert message.status == "failed" and bytes(message.body) == body
    assert not edi_orders().exists()


def test_empty_body_is_400(ops_client):
    assert post_x12(ops_client, b"   ").status_code == 400


def test_one_relay_batch_writes_documents_only_for_customers_whose_partner_wants_them(
        edi_partner, customer, other_customer, web_customer, products, drain):
    """The EDI consumers' batch handlers: one partner query for the batch; an 855 for the EDI
    customer's order only, none for a customer without a partner or whose partner sends no 855."""
    from core.messaging.models import ConsumedEvent
    from integrations.models import EdiPartner
    from sales import services as sales_services

    EdiPartner.objects.create(code="globex", customer=other_customer, isa_id="GLOBEX", our_id="NORTHWIND",
                              send_855=False)

    def order(cust, ref):
        return sales_services.submit_order(sales_services.CanonicalOrder(
            customer_code=cust.code, channel="api", external_ref=ref,
            lines=[sales_services.CanonicalLine(sku="WIDGET-1", quantity=Decimal(1))])).order

    # given: three accepted orders waiting in the outbox together
    orders = [order(customer, "A-1"), order(other_customer, "G-1"), order(web_customer, "W-1"),
              order(customer, "A-2")]

    # when: one relay pass handles them as one batch
    drain()

    # then: 855s for the EDI customer's two orders, in order; every event marked consumed once
    docs = EdiDocument.objects.filter(transaction_set="855").order_by("id")
    assert [d.order_id for d in docs] == [orders[0].pk, orders[3].pk]
    assert ConsumedEvent.objects.filter(consumer="integrations.edi_855").count() == 4
    drain()
    assert EdiDocument.objects.filter(transaction_set="855").count() == 2


def test_a_batch_that_fails_half_way_leaves_no_file_for_what_it_rolled_back(edi_partner, customer, products,
                                                                             drain, monkeypatch):
    """Files are written once the batch's documents are recorded: the rolled-back batch wrote
    none, the one-by-one retry writes the good document's file once and records the bad one."""
    from core.messaging.models import ConsumerFailure
    from sales import services as sales_services

    orders = [sales_services.submit_order(sales_services.CanonicalOrder(
        customer_code=customer.code, channel="api", external_ref=ref,
        lines=[sales_services.CanonicalLine(sku="WIDGET-1", quantity=Decimal(1))])).order for ref in ("A-1", "A-2")]
    build = edi.build_855

    def build_855(data, partner, **kwargs):
        if data["order_number"] == orders[1].number:
            raise ValueError("cannot acknowledge this one")
        return build(data, partner, **kwargs)

    written: list[str] = []
    write_files = edi.write_files
    monkeypatch.setattr(edi, "build_855", build_855)
    monkeypatch.setattr(edi, "write_files", lambda files: (written.extend(str(p) for p, _ in files),
                                                           write_files(files)))

    drain()

    (doc,) = EdiDocument.objects.filter(transaction_set="855")
    assert doc.order_id == orders[0].pk
    assert written == [edi.outbox_name(doc)]
    folder = edi.outbox_name(doc).rsplit("/", 1)[0]
    assert storage.files().listdir(folder)[1] == [doc.filename.split("/")[-1]]
    assert ConsumerFailure.objects.filter(consumer="integrations.edi_855").count() == 1
