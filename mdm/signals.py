"""Signals mdm sends so that higher apps can act without mdm importing them."""

from django.dispatch import Signal

# Sent by mdm.demo.seed_demo() at the end of its transaction (sender "mdm.demo"), with
# `today` (the date the demo is seeded for), `items` and `suppliers` (the sizes asked for).
# A receiver adds its own demo data and may return summary rows (label, created, total) for
# the seed's report.
demo_seeded = Signal()
