"""Indexer and Argo CD settings: secrets from the environment or a file (the generic *_FILE), TLS verified by default."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError
from bot.core.redact import redact
from bot.settings import load_settings


def test_password_file_is_read_once_and_redacted(tmp_path):
    (tmp_path / "pw").write_text("hunter2-indexer\n")
    s = load_settings(
        {"SECOPS_INDEXER_URL": "https://i:9200", "SECOPS_INDEXER_PASSWORD_FILE": str(tmp_path / "pw")}
    )
    assert s.indexer_password is not None and s.indexer_password.get_secret_value() == "hunter2-indexer"
    assert "hunter2-indexer" not in repr(s) and "hunter2-indexer" not in redact("x hunter2-indexer y")


def test_unreadable_secret_file_names_its_variable(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings({"SECOPS_ARGOCD_TOKEN_FILE": str(tmp_path / "missing")})
    assert str(err.value).startswith("SECOPS_ARGOCD_TOKEN_FILE ") and "No such file" in str(err.value)


def test_tls_is_verified_by_default():
    s = load_settings({})
    assert (s.indexer_verify_tls, s.argocd_verify_tls, s.indexer_index) == (True, True, "wazuh-alerts-4.x-*")
    assert (s.deploy_deadline, s.verify_period) == (1800.0, 1800.0)
