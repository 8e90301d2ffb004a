"""Tests that need a real service skip on a laptop without it, and fail in CI, where
HUB_REQUIRE_SERVICES=1 says every service must be there."""

import os

import pytest


def require(available, what):
    if available:
        return
    message = f"needs {what}"
    if os.getenv("HUB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}, and HUB_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(message)
