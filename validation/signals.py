"""Signals validation sends so that higher apps (quarantine) can act without validation
importing them."""

from django.dispatch import Signal

# Sent once for every outcome validation writes (released, quarantined, rejected,
# dead_letter), sender InboundMessage, with:
#   message      the message (for a forecast sent in parts: part 1, which stands for all)
#   status       the final status
#   diagnostics  every diagnostic of the outcome (for parts: of all parts, each line
#                diagnostic with its "part" number and a path into that part's payload)
#   parts        every message the outcome covers: [message], or all parts in order
#
# It is sent INSIDE the transaction that writes the outcome, with plain `send`: a receiver's
# writes commit with the outcome or not at all, and a receiver that raises rolls the outcome
# back (the message then goes to retry or dead letter, never half done). So a quarantined
# message always has its case. Receivers must be quick and must not call other services; work
# that may wait goes into transaction.on_commit.
message_outcome = Signal()
