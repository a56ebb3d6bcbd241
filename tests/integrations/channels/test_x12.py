"""The X12 codec: separators from ISA, strict envelope checks, errors naming segment and element."""

from __future__ import annotations

import pytest

from integrations.channels import x12
from integrations.exceptions import X12Error
from tests.integrations.conftest import fixture_bytes


def text(name: str) -> str:
    return fixture_bytes(name).decode()


def test_parses_two_purchase_orders_with_envelope_counts():
    interchange = x12.parse(text("edi_850_two_pos.x12"))
    assert interchange.sender == ("ZZ", "ACMEBUYER")
    assert interchange.control == "000000905"
    assert [t.control for t in interchange.transactions] == ["0001", "0002"]
    first = interchange.transactions[0]
    assert first.find("BEG")[0].get(3) == "PO-88001"
    assert [s.get(7) for s in first.find("PO1")] == ["WIDGET-1", "GADGET-2"]


def test_separators_come_from_isa():
    interchange = x12.parse(text("edi_850_pipe_separators.x12"))
    assert interchange.separators == x12.Separators(element="|", component="^", segment="!", repetition="U")
    assert interchange.transactions[0].find("BEG")[0].get(3) == "PO-88003"


def test_wrong_segment_count_names_segment_and_element():
    with pytest.raises(X12Error) as err:
        x12.parse(text("edi_850_bad_count.x12"))
    assert err.value.segment_id == "SE" and err.value.element == 1
    assert err.value.segment_number == 21
    assert "SE01 says 7 segments but the set has 9" in err.value.detail
    assert err.value.detail.startswith("segment 21 (SE), element SE01")


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("IEA*1*000000905", "IEA*1*000000999"), "IEA02"),
    (lambda t: t.replace("GE*2*4711", "GE*3*4711"), "GE01 says '3'"),
    (lambda t: t.replace("GE*2*4711", "GE*2*4712"), "GE02"),
    (lambda t: t.replace("SE*9*0002", "SE*9*0009"), "SE02"),
    (lambda t: t.replace("SE*10*0001~\n", ""), "no SE trailer"),
    (lambda t: t[: t.index("GE*")], "expected ST or GE"),
    (lambda t: t.rstrip("~\n"), "does not end with a segment terminator"),
    (lambda t: t.replace("ISA*00", "ISA:00", 1), "16 fixed-width elements"),
    (lambda t: "XYZ" + t[3:], "must begin with an ISA"),
    (lambda t: t[:60], "truncated"),
    (lambda t: t.replace("*P*>~", "*P*A~", 1), "bad component separator"),
    (lambda t: t.replace("000000905*0*P", "00000905X*0*P"), "9 digits"),
])
def test_malformed_interchanges_are_refused_clearly(mutate, message):
    with pytest.raises(X12Error) as err:
        x12.parse(mutate(text("edi_850_two_pos.x12")))
    assert message in err.value.detail


def test_writer_output_parses_back():
    out = x12.build_interchange(sender=("ZZ", "NORTHWIND"), receiver=("ZZ", "ACMEBUYER"), control=42, usage="T",
                                functional_id="PR", gs_sender="NORTHWIND", gs_receiver="ACMEBUYER",
                                sets=[("855", [["BAK", "00", "AC", "PO*1~x", "20261127"], ["CTT", "0"]])])
    interchange = x12.parse(out)
    assert interchange.control == "000000042"
    ts = interchange.transactions[0]
    assert ts.id == "855" and ts.find("BAK")[0].get(3) == "PO 1 x"  # separators in data are neutralised
