"""Submission budgets: how many messages, and how many bytes of them, a source system may
submit per minute, so that one key cannot fill the messages table.

Each submission is counted, before its body is read, in the database row of its system and
minute (mdm.SubmissionCount) by one upsert that returns the new totals, so every web process
counts against one budget and two racing submissions never both see the last place. Attempts
refused for the budget count too: a client that keeps sending is kept out until it waits.
The window is the calendar minute: a burst may straddle two minutes and send up to twice the
budget in a minute's time, never more.
"""

import datetime
import math

from django.conf import settings
from django.db import connection
from django.utils import timezone

from mdm.models import SubmissionCount

# Counters of past minutes are no longer read; the retention task deletes them after this.
COUNTS_KEPT_SECONDS = 3600


class OverBudget(Exception):
    """A submission beyond its system's budget; `budget` names which one."""

    def __init__(self, system, budget, limit, used, retry_after):
        self.budget, self.limit, self.used, self.retry_after = budget, limit, used, retry_after
        if budget == "messages_per_minute":
            spent = f"{limit:,} messages per minute and has sent {used:,} this minute"
        else:
            spent = f"{limit:,} bytes of messages per minute and has sent {used:,} this minute"
        super().__init__(
            f"The system {system.code} may submit {spent}. Send again in {retry_after} s "
            "(Retry-After), or ask a data steward for a larger budget."
        )


def budget_of(system):
    """(messages, bytes) per minute `system` may submit; 0 for no limit. Its own, where a
    steward set one, else the hub's default."""
    messages = system.budget_messages_per_minute
    size = system.budget_bytes_per_minute
    return (
        settings.HUB_BUDGET_MESSAGES_PER_MINUTE if messages is None else messages,
        settings.HUB_BUDGET_BYTES_PER_MINUTE if size is None else size,
    )


def spend_submission_budget(system, size, now=None):
    """Count a submission of `size` bytes by `system` in this minute; raise OverBudget when
    it takes the system past either budget."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    messages, sent = _count(system.pk, minute, size)
    retry_after = max(1, math.ceil(60 - (now - minute).total_seconds()))
    message_limit, byte_limit = budget_of(system)
    if message_limit and messages > message_limit:
        raise OverBudget(system, "messages_per_minute", message_limit, messages, retry_after)
    if byte_limit and sent > byte_limit:
        raise OverBudget(system, "bytes_per_minute", byte_limit, sent, retry_after)


def _count(system_id, minute, size):
    """Add one message of `size` bytes to the system's minute: (messages, bytes) after it."""
    table = connection.ops.quote_name(SubmissionCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (system_id, minute, messages, bytes) VALUES (%s, %s, 1, %s) "
            "ON CONFLICT (system_id, minute) DO UPDATE SET "
            f"messages = {table}.messages + 1, bytes = {table}.bytes + excluded.bytes "
            "RETURNING messages, bytes",
            [system_id, connection.ops.adapt_datetimefield_value(minute), size],
        )
        return cursor.fetchone()


def forget_old_counts(now=None):
    """Delete the counters of minutes no budget reads any more; returns how many."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=COUNTS_KEPT_SECONDS)
    return SubmissionCount.objects.filter(minute__lt=cutoff).delete()[0]
