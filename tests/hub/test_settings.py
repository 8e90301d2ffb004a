"""A bad setting stops the hub at start with a message naming the variable."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    # Only the variables the test names: nothing from the developer's or CI's environment.
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    base.update({"HUB_SECRET_KEY": "x" * 60, "HUB_VAR_DIR": "/tmp/hub-settings-test"})
    base.update(env)
    base = {k: v for k, v in base.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HUB_DEBUG", "maybe", "HUB_DEBUG must be a boolean"),
        ("HUB_DB_CONN_MAX_AGE", "ten", "HUB_DB_CONN_MAX_AGE must be an integer"),
        ("HUB_DB_CONN_MAX_AGE", "-1", "HUB_DB_CONN_MAX_AGE must be at least 0"),
        ("HUB_TIME_ZONE", "Mars/Olympus", "HUB_TIME_ZONE is not a known time zone"),
        ("HUB_LOG_LEVEL", "LOUD", "HUB_LOG_LEVEL must be one of"),
        ("DATABASE_URL", "oracle-ish://nowhere", "DATABASE_URL is not a valid database URL"),
        ("HUB_EMAIL_PORT", "smtp", "HUB_EMAIL_PORT must be an integer"),
        ("HUB_METRICS_TOKEN", "short", "HUB_METRICS_TOKEN must be at least 24 characters"),
        ("HUB_TRUSTED_PROXIES", "10.0.0.1,proxy", "HUB_TRUSTED_PROXIES must list IP addresses"),
        ("HUB_CACHE_URL", "memcached://x", "HUB_CACHE_URL must be a redis:// URL"),
        ("HUB_LOGIN_FAILURE_LIMIT", "0", "HUB_LOGIN_FAILURE_LIMIT must be at least 1"),
    ],
)
def test_it_fails_loudly_on_a_bad_value(variable, value, message):
    result = _manage("check", **{variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_it_requires_a_secret_key_outside_debug():
    result = _manage("check", HUB_SECRET_KEY=None)
    assert result.returncode != 0
    assert "HUB_SECRET_KEY must be set" in result.stderr


def test_it_passes_the_deployment_checks_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        HUB_SECRET_KEY=secrets.token_urlsafe(60),
        HUB_ALLOWED_HOSTS="hub.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("host", "backend"),
    [("", "console.EmailBackend"), ("mail.example.com", "smtp.EmailBackend")],
)
def test_mail_is_sent_by_smtp_only_when_a_mail_host_is_set(host, backend):
    show = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    result = _manage("shell", "-c", show, HUB_EMAIL_HOST=host, HUB_EMAIL_PORT="25")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(backend)
