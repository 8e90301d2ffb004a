"""Every kind: a file creates records, their export imported again plans zero changes."""

import pytest

from imports.kinds import KINDS
from mdm.models import SourceSystem
from tests.imports.conftest import apply, export, plan

FILES = {
    "calendars": (
        "code,name,timezone,working_weekdays,holiday_country,holiday_subdivision,is_active\n"
        "PLANT-1,Plant one,Europe/Berlin,1111100,DE,BY,true\n"
        "SUP-CAL,Supplier calendar,UTC,1111110,,,false\n"
    ),
    "calendar_exceptions": (
        "calendar.code,start,end,is_working,reason\n"
        "DE-BY,2026-12-24,2026-12-31,false,Winter shutdown\n"
        "DE-BY,2026-06-06,2026-06-06,true,Working Saturday\n"
    ),
    "code_lists": "code,name,description\nACK_LINE_STATUS,Acknowledgement line status,\n",
    "items": (
        "number,description,base_unit,item_type,status,gtin,manufacturer,mpn,commodity,"
        "net_weight,weight_unit\n"
        "100234,Hex bolt M8x40,H87,component,active,4006381333931,Boltara,=SUM(A1),FASTENER,"
        "0.025,KGM\n"
        "100235,Hex nut M8,h87,component,blocked,,Boltara,-N8,FASTENER,,\n"
    ),
    "suppliers": (
        "number;name;legal_name;status;country;duns;lei;vat\n"
        "S-100;Boltara;Boltara GmbH;active;de;;;\n"
        'S-200;"Acme; Inc.";;blocked;US;;;\n'
    ),
    "locations": (
        "code,name,kind,status,gln,country,timezone,calendar.code,parent.code,can_receive\n"
        "PLANT-1,Plant one,plant,active,4012345000009,DE,Europe/Berlin,DE-BY,,true\n"
        "WH-1,Warehouse one,warehouse,active,,DE,Europe/Berlin,,PLANT-1,false\n"
    ),
}


@pytest.fixture
def world(units, calendar):
    for kind in ("suppliers", "items", "code_lists"):
        run = apply(kind, FILES[kind])
        assert run.status == "applied", run.errors or run.message
    SourceSystem.objects.create(code="ERP_LEGACY", name="Legacy ERP", kind="erp")


MORE = {
    "item_revisions": (
        "item.number,revision,status,effective_from,effective_to,description\n"
        "100234,A,obsolete,2025-01-01,2025-12-31,First\n"
        "100234,B,released,2026-01-01,,Second\n"
    ),
    "item_unit_conversions": (
        "item.number,supplier.number,from_unit,to_unit,valid_from,factor,valid_to\n"
        "100234,,XBX,H87,,100,\n"
        "100234,S-100,XBX,H87,2026-01-01,50.5,2026-12-31\n"
    ),
    "supplier_sites": (
        "supplier.number,code,name,address,city,postal_code,country,calendar.code,status\n"
        "S-100,HAMBURG,Hamburg works,Hafenstr. 1,Hamburg,20457,DE,DE-BY,active\n"
    ),
    "code_values": (
        "code_list.code,code,meaning,description,status,sort_order\n"
        "ACK_LINE_STATUS,accepted,Accepted,,active,1\n"
        "ACK_LINE_STATUS,rejected,Rejected,,retired,2\n"
    ),
    "xrefs": (
        "system,kind,scope,code,target,valid_from,valid_to,status,is_preferred\n"
        "ERP_LEGACY,item,,A-100234,100234,,,active,true\n"
        "ERP_LEGACY,unit,,ST,H87,,,active,false\n"
        "ERP_LEGACY,supplier,1000,V-77,S-100,2026-01-01,,active,false\n"
    ),
}


def test_every_kind_is_covered():
    assert set(FILES) | set(MORE) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(set(FILES) | set(MORE)))
def test_it_round_trips(kind, world):
    text = FILES.get(kind) or MORE[kind]
    if kind not in ("suppliers", "items", "code_lists"):
        run = apply(kind, text)
        assert run.status == "applied", run.errors or run.message
        assert run.counts["create"] == text.count("\n") - 1
    exported = export(kind)
    again = plan(kind, exported)
    assert again.status == "planned", again.errors or again.message
    assert again.plan_counts["error"] == 0, again.errors
    assert again.plan_counts["create"] == again.plan_counts["update"] == 0, exported
    assert again.plan_counts["unchanged"] == again.plan_counts["rows"] > 0
