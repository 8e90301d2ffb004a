"""Placeholder, replaced by the units service."""


def is_mass(unit):
    return True
