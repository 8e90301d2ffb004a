"""The EDI tests' samples and the trading partners that send them, each set up as the sample's
envelope names it (sender, and the hub as it is addressed), all speaking for the supplier
network's system."""

from pathlib import Path

from edi import receiving
from edi.models import Partner, Standard
from mdm.models import SourceSystem

DATA = Path(__file__).resolve().parent / "data"
# The node-x12 855: from ZZ:1556150 to ZZ:123MILL, ISA13 000000005, one group (GS06 5) with
# one 855 (ST02 0005, SE01 26) for PO POTEST1112, four lines; 30 segments, one a line.
SAMPLE = (DATA / "nodex12_855_004010.edi").read_bytes()
# Two groups from ZZ:NORTHWIND to ZZ:HUBRECEIVER (ISA13 000001201): an 855 and an 856.
NORTHWIND = (DATA / "x12_855_856_004060_two_groups.edi").read_bytes()
# An EDIFACT ORDRSP (accepted, two lines) from 4012345000009:14 to 5790000000005:14 (UNB05
# ORS0001); after the UNA, one segment a line: UNB on line 2 ... UNT+18+1 line 20, UNZ 21.
ORDRSP = (DATA / "edifact_ordrsp_accepted.edi").read_bytes()


def network():
    return SourceSystem.objects.create(code="SUPPLIER_NET", name="Supplier network", kind="other")


def fort_wayne(system, **changes):
    """The sender of SAMPLE."""
    return _partner(
        system,
        {
            "name": "Fort Wayne Books",
            "supplier_code": "SUP-FW-01",
            "qualifier": "ZZ",
            "interchange_id": "1556150",
            "hub_id": "123MILL",
        },
        changes,
    )


def northwind(system, **changes):
    """The sender of NORTHWIND."""
    return _partner(
        system,
        {
            "name": "Northwind Traders",
            "supplier_code": "SUP-NW-01",
            "qualifier": "ZZ",
            "interchange_id": "NORTHWIND",
            "hub_id": "HUBRECEIVER",
        },
        changes,
    )


def acme(system, **changes):
    """The sender of ORDRSP."""
    return _partner(
        system,
        {
            "name": "Acme Fasteners",
            "supplier_code": "SUP-ACME",
            "standard": Standard.EDIFACT,
            "qualifier": "14",
            "interchange_id": "4012345000009",
            "hub_qualifier": "14",
            "hub_id": "5790000000005",
        },
        changes,
    )


def _partner(system, fields, changes):
    """A partner of `system` with `fields`, as `changes` change them."""
    return Partner.objects.create(system=system, **({"hub_qualifier": "ZZ"} | fields | changes))


def with_(raw, old, new):
    """`raw` with its first `old` replaced (which must be there)."""
    assert old in raw
    return raw.replace(old, new, 1)


def received(raw, **options):
    """The stored interchange, accepted or refused."""
    try:
        return receiving.receive(raw, source=options.pop("source", "api"), **options)
    except receiving.Refused as refusal:
        return refusal.interchange


def kugelmann(world, **changes):
    """The supplier of tests/validation/world.py trading by EDI, as the supplier network."""
    return _partner(
        world.systems["SUPPLIER_NET"],
        {
            "name": "Kugelmann EDI",
            "supplier_code": "SUP-NET-0042",
            "qualifier": "ZZ",
            "interchange_id": "KUGELMANN",
            "hub_id": "MDMHUB",
        },
        changes,
    )
