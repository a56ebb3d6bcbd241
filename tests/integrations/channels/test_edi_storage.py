"""EDI out goes through Django's storage API, and nothing on the way writes a local file.

The whole EDI flow (850 in → 997 + 855, ship → 856, invoice → 810) runs with every local
write forbidden (builtins.open / os.open in a writing mode raise): the files must come out of
the shared storage (an in-memory one here; a bucket or a folder in production)."""

from __future__ import annotations

import builtins
import os

import pytest

from core import storage
from integrations.channels import edi
from integrations.models import EdiDocument
from tests.integrations.conftest import fixture_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations/edi/inbound/"
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


@pytest.fixture
def no_local_writes(monkeypatch):
    """Every attempt to open a local file for writing is recorded and refused."""
    attempts: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
            attempts.append(str(file))
            raise PermissionError(f"local write refused in this test: {file}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS:
            attempts.append(str(path))
            raise PermissionError(f"local write refused in this test: {path}")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    return attempts


def test_edi_flow_saves_every_outbound_file_in_the_storage_and_writes_no_local_file(
        ops_client, edi_partner, products, drain, no_local_writes):
    from sales import services as sales_services
    from sales.models import Order, Shipment

    response = ops_client.post(URL, data=fixture_bytes("edi_850_two_pos.x12"), content_type="text/plain")
    assert response.status_code == 201, response.json()
    drain()
    order = Order.objects.filter(channel="edi").order_by("external_ref").first()
    shipment = Shipment.objects.get(order=order)
    sales_services.ship_shipment(shipment_id=shipment.pk, tracking_number="1Z999AA10123456784")
    drain()

    assert no_local_writes == []
    docs = list(EdiDocument.objects.order_by("pk"))
    assert {d.transaction_set for d in docs} >= {"997", "855", "856", "810"}
    for doc in docs:
        name = edi.outbox_name(doc)
        assert name.startswith("edi/outbox/acme/")
        assert storage.read_text(name) == doc.content  # the file is the recorded document


def test_a_retried_write_keeps_the_first_file_and_adds_no_copy(edi_partner):
    doc = edi.write_document(partner=edi_partner, set_id="997", body=[["AK1", "PO", "1"], ["AK9", "A", "0", "0", "0"]],
                             reference="R1")
    name = edi.outbox_name(doc)
    edi.write_files([(name, doc.content)])  # a batch retried after a crash writes the same name again

    folder, filename = name.rsplit("/", 1)
    assert storage.files().listdir(folder)[1] == [filename]
    assert storage.read_text(name) == doc.content
