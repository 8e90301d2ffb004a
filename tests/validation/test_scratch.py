import time
import datetime
import pytest
from collections import Counter
from mdm import demo
from mdm.models import Unit
from validation.models import InboundMessage


@pytest.mark.django_db
def test_scratch(django_capture_on_commit_callbacks):
    for code, fields in demo.DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    t = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed_demo(items=200, suppliers=40, today=datetime.date(2026, 3, 2))
    print("seed", time.time() - t)
    for m in InboundMessage.objects.order_by("pk"):
        print(m.idempotency_key, m.system.code, m.message_type, m.status, m.last_error[:200], sorted(Counter((d["rule"], d["severity"]) for d in m.diagnostics).items()))
        if m.status == "quarantined":
            for d in m.diagnostics: print("    ", d["path"], d["message"], "|", d["suggestion"])
