"""The cross-reference registry as its callers meet it: idempotent registration, conflicts
named, the database's own refusal on PostgreSQL, changes, retirement, successors, the signal
that announces a change, and history."""

import contextlib
import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from tests.services import require
from tests.xref.conftest import CUTOVER
from xref import services
from xref.models import CrossReference
from xref.services import (
    ReferenceConflict,
    register_reference,
    retire_reference,
    successor_of,
    update_reference,
)
from xref.signals import reference_changed

pytestmark = pytest.mark.django_db

BEFORE = CUTOVER - dt.timedelta(days=1)


def register(world, code="100234", target=None, **fields):
    fields.setdefault("kind", "item")
    fields.setdefault("system", world.legacy)
    fields.setdefault("scope", "1000")
    return register_reference(code=code, target=target or world.bolt, **fields)


@pytest.fixture
def received():
    """The reference_changed signals sent, as (code, created) pairs, after commit."""
    calls = []

    def receiver(sender, reference, created, **kwargs):
        calls.append((reference.code, created))

    reference_changed.connect(receiver)
    yield calls
    reference_changed.disconnect(receiver)


# --- registration -------------------------------------------------------------------------


def test_it_registers_a_new_reference(world, steward):
    reference, created = register(world, user=steward, is_preferred=True)

    assert created
    reference.refresh_from_db()
    assert (reference.system, reference.kind, reference.scope, reference.code) == (
        world.legacy,
        "item",
        "1000",
        "100234",
    )
    assert reference.target == world.bolt
    assert (reference.status, reference.is_preferred, reference.origin) == (
        "active",
        True,
        "manual",
    )
    assert reference.created_by == steward


def test_it_returns_the_existing_reference_for_the_same_mapping_again(world):
    first, _ = register(world, valid_to=CUTOVER)

    again, created = register(world, valid_to=CUTOVER)
    inside, created_inside = register(world, valid_from=dt.date(2026, 1, 1), valid_to=BEFORE)

    assert (again.pk, created) == (first.pk, False)
    assert (inside.pk, created_inside) == (first.pk, False)
    assert CrossReference.objects.count() == 1


def test_it_refuses_a_code_that_means_another_record_with_the_reference_named(world):
    bolt_code, _ = register(world)

    with pytest.raises(ReferenceConflict) as refused:
        register(world, target=world.nut, valid_from=CUTOVER)

    assert refused.value.conflict == bolt_code
    assert f"reference #{bolt_code.pk}" in refused.value.message
    assert "ERP_LEGACY item code '100234' in scope 1000 already means" in refused.value.message
    assert world.bolt.public_id in refused.value.message
    assert CrossReference.objects.count() == 1


def test_it_refuses_the_same_mapping_over_a_longer_period(world):
    existing, _ = register(world, valid_from=dt.date(2026, 1, 1))

    with pytest.raises(ReferenceConflict) as refused:
        register(world)  # from always: reaches before the registered start

    assert refused.value.conflict == existing


def test_it_lets_a_code_mean_another_record_once_the_first_reference_ends(world):
    register(world, valid_to=CUTOVER)

    later, created = register(world, target=world.nut, valid_from=CUTOVER)

    assert created and later.target == world.nut


def test_it_lets_a_code_mean_different_records_in_different_scopes(world):
    register(world, scope="1000")

    other, created = register(world, target=world.nut, scope="2000")

    assert created and other.target == world.nut


def test_it_refuses_a_record_of_another_kind(world):
    with pytest.raises(ValidationError, match="points at a supplier"):
        register(world, kind="supplier", target=world.bolt)
    with pytest.raises(ValidationError, match="not a kind of reference"):
        register(world, kind="material")


def test_it_refuses_invalid_input_with_the_models_messages(world):
    with pytest.raises(ValidationError) as refused:
        register(world, code=" 100234", valid_from=CUTOVER, valid_to=BEFORE)

    assert not isinstance(refused.value, ReferenceConflict)
    assert set(refused.value.message_dict) == {"code", "valid_to"}


def test_it_refuses_a_second_preferred_code_for_one_record(world):
    register(world, code="100234", is_preferred=True)

    with pytest.raises(ValidationError) as refused:
        register(world, code="100234-OLD", is_preferred=True)

    assert "is_preferred" in refused.value.message_dict


def test_it_takes_the_system_by_code(world):
    reference, _ = register(world, system="SUPPLIER_NET", kind="code_value", code="IA",
                            target=world.accepted, scope="")  # fmt: skip

    assert reference.system == world.network
    with pytest.raises(ValidationError, match="No source system 'NOPE'"):
        register(world, system="NOPE")


# --- concurrency --------------------------------------------------------------------------


def test_the_database_refuses_overlapping_claims_on_postgresql(world, add_reference):
    require(connection.vendor == "postgresql", "PostgreSQL")
    add_reference(world.legacy, "100234", world.bolt, scope="1000", valid_to=CUTOVER)
    clash = CrossReference(
        system=world.legacy, kind="item", scope="1000", code="100234", item=world.nut
    )

    with pytest.raises(IntegrityError, match="xref_no_overlapping_claims"), transaction.atomic():
        clash.save()  # no clean(): only the exclusion constraint stands in the way

    # A retired reference claims nothing, and the day the first one ends is free.
    CrossReference.objects.create(
        system=world.legacy, kind="item", scope="1000", code="100234", item=world.nut,
        status=CrossReference.Status.RETIRED,
    )  # fmt: skip
    CrossReference.objects.create(
        system=world.legacy, kind="item", scope="1000", code="100234", item=world.nut,
        valid_from=CUTOVER,
    )  # fmt: skip


def race(monkeypatch, winner):
    """Let `winner` be stored by a concurrent request between the service's check and its
    insert: the check sees nothing, the insert meets the stored claim. (Here the winner is
    stored in the loser's own transaction, so a refusal rolls it back too.)"""
    original = services._registered
    calls = []

    def registered(reference):
        calls.append(reference)
        if len(calls) == 1:
            winner.save()
            return None
        return original(reference)

    monkeypatch.setattr(services, "_registered", registered)
    monkeypatch.setattr(services, "_validate", lambda reference: None)


def test_a_registration_that_loses_a_race_returns_the_winner(world, monkeypatch):
    require(connection.vendor == "postgresql", "PostgreSQL")
    winner = CrossReference(
        system=world.legacy, kind="item", scope="1000", code="100234", item=world.bolt
    )
    race(monkeypatch, winner)

    reference, created = register(world)

    assert (reference.pk, created) == (winner.pk, False)
    assert CrossReference.objects.count() == 1


def test_a_conflicting_registration_that_loses_a_race_is_a_conflict(world, monkeypatch):
    require(connection.vendor == "postgresql", "PostgreSQL")
    winner = CrossReference(
        system=world.legacy, kind="item", scope="1000", code="100234", item=world.nut
    )
    race(monkeypatch, winner)

    with pytest.raises(ReferenceConflict) as refused:
        register(world)

    assert refused.value.conflict.pk == winner.pk
    assert f"reference #{winner.pk}" in refused.value.message


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_registrations_of_one_mapping_store_it_once(world, monkeypatch):
    require(connection.vendor == "postgresql", "PostgreSQL")
    callers = 20
    start = threading.Barrier(callers, timeout=10)
    all_checked = threading.Barrier(callers, timeout=2)
    validate = services._validate

    def validate_together(reference):
        validate(reference)
        # Unserialized, all have now seen no claim and insert at once. Serialized, the others
        # wait for the claim's lock, not here, and the barrier breaks after its timeout.
        with contextlib.suppress(threading.BrokenBarrierError):
            all_checked.wait()

    monkeypatch.setattr(services, "_validate", validate_together)
    answers, errors = [], []

    def request():
        try:
            start.wait()
            answers.append(register(world))
        except Exception as exc:  # a deadlock or a conflict would land here
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(created for _, created in answers) == [False] * (callers - 1) + [True]
    assert len({reference.pk for reference, _ in answers}) == 1
    assert CrossReference.objects.count() == 1


# --- changes and retirement ---------------------------------------------------------------


def test_it_updates_a_reference_through_the_models_validation(world):
    reference, _ = register(world)
    other, _ = register(world, code="100235", target=world.nut)

    update_reference(reference, code="100234-A", is_preferred=True)
    reference.refresh_from_db()
    assert (reference.code, reference.is_preferred) == ("100234-A", True)

    with pytest.raises(ReferenceConflict) as refused:
        update_reference(other, code="100234-A")
    assert refused.value.conflict == reference

    update_reference(other, kind="supplier", target=world.acme)
    other.refresh_from_db()
    assert (other.kind, other.target, other.item_id) == ("supplier", world.acme, None)


def test_it_ends_a_reference_on_the_retirement_date(world):
    reference, _ = register(world)

    retire_reference(reference, CUTOVER)

    reference.refresh_from_db()
    assert (reference.status, reference.valid_to) == ("active", CUTOVER)
    assert reference.is_valid_on(BEFORE) and not reference.is_valid_on(CUTOVER)
    # Retiring it later again changes nothing: it has already ended by then.
    retire_reference(reference, CUTOVER + dt.timedelta(days=10))
    reference.refresh_from_db()
    assert reference.valid_to == CUTOVER


def test_it_withdraws_a_reference_retired_before_it_starts(world):
    reference, _ = register(world, valid_from=CUTOVER)

    retire_reference(reference, CUTOVER)

    reference.refresh_from_db()
    assert (reference.status, reference.valid_to) == ("retired", None)
    # The code is free again.
    assert register(world, target=world.nut)[1]


# --- successors -----------------------------------------------------------------------------


def test_the_successor_is_the_records_new_code_in_the_same_system(world):
    old, _ = register(world, valid_to=CUTOVER)
    register(world, code="100234-N", valid_from=CUTOVER + dt.timedelta(days=3))
    register(world, code="999", valid_from=CUTOVER, scope="2000")  # another scope

    successor = successor_of(old)

    assert (successor.code, successor.scope) == ("100234-N", "1000")


def test_the_successor_is_the_same_code_reused_for_another_record(world):
    old, _ = register(world, valid_to=CUTOVER)
    reused, _ = register(world, target=world.nut, valid_from=CUTOVER)

    assert successor_of(old) == reused


def test_the_successor_is_the_code_in_the_system_that_took_over(world):
    old, _ = register(world, valid_to=CUTOVER)
    register(world, system=world.planning, code="PL-1", scope="")  # always valid: not new
    cloud, _ = register(world, system=world.cloud, code="40000001", scope="",
                        valid_from=CUTOVER)  # fmt: skip

    assert successor_of(old) == cloud


def test_an_open_reference_has_no_successor_and_a_withdrawn_one_names_the_current(world):
    reference, _ = register(world)
    assert successor_of(reference) is None

    retire_reference(reference)
    current, _ = register(world, target=world.nut)

    assert successor_of(reference) == current


def test_it_finds_the_successors_of_many_references_in_few_queries(
    world, django_assert_max_num_queries
):
    old = [register(world, code=f"C{n}", valid_to=CUTOVER)[0] for n in range(20)]
    new = [
        register(world, code=f"C{n}", target=world.nut, valid_from=CUTOVER)[0] for n in range(20)
    ]

    with django_assert_max_num_queries(2):
        successors = services.successors_of(old)

    assert [successors[reference.pk] for reference in old] == new


# --- signal and history ---------------------------------------------------------------------


def test_it_announces_each_change_after_commit(world, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reference, _ = register(world)
    with django_capture_on_commit_callbacks(execute=True):
        register(world)  # the same mapping again: nothing changed
    with django_capture_on_commit_callbacks(execute=True):
        retire_reference(reference, CUTOVER)

    assert received == [("100234", True), ("100234", False)]


def test_it_announces_nothing_for_a_change_rolled_back(
    world, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        register(world)
        transaction.set_rollback(True)

    assert received == []


def test_it_records_who_changed_a_reference_and_can_revert_it(world, steward):
    reference, _ = register(world, user=steward)
    update_reference(reference, user=steward, code="WRONG", scope="2000")

    records = reference.history.order_by("history_id")
    assert [(r.history_type, r.history_user, r.code) for r in records] == [
        ("+", steward, "100234"),
        ("~", steward, "WRONG"),
    ]
    records.first().instance.save()

    reference.refresh_from_db()
    assert (reference.code, reference.scope) == ("100234", "1000")
