"""Settings: config file, environment and flags in that order of strength; secrets from files; config show."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import main
from bot.core.errors import ConfigError
from bot.settings import load_settings, load_settings_with_sources

TOKEN = "xoxb-1111-2222-FromTheSecretFile"


def test_config_file_sets_values_the_environment_overrides_and_flags_override_both(tmp_path):
    config = tmp_path / "secops.toml"
    config.write_text('SECOPS_WINDOW = "2m"\nSECOPS_MIN_LEVEL = 9\nsecops_max_changed_lines = 5\n')
    env = {"SECOPS_CONFIG": str(config), "SECOPS_MIN_LEVEL": "10"}
    settings, sources = load_settings_with_sources(env, {"max_changed_lines": 30})
    assert (settings.window, settings.min_level, settings.max_changed_lines) == (120.0, 10, 30)
    assert sources["window"] == f"file {config} SECOPS_WINDOW"
    assert sources["min_level"] == "env SECOPS_MIN_LEVEL"
    assert sources["max_changed_lines"] == "flag --max-changed-lines"
    assert sources["poll_interval"] == "default"


def test_yaml_config_file_is_read_like_toml(tmp_path):
    config = tmp_path / "secops.yaml"
    config.write_text("SECOPS_APPROVERS: U0ALICE,S0LEADS\nSECOPS_PR_DRAFT: true\n")
    settings = load_settings({"SECOPS_CONFIG": str(config)})
    assert settings.approvers == ("U0ALICE", "S0LEADS") and settings.pr_draft is True


def test_secret_file_variant_reads_the_file_in_env_and_config(tmp_path):
    (tmp_path / "bot-token").write_text(TOKEN + "\n")
    settings, sources = load_settings_with_sources({"SLACK_BOT_TOKEN_FILE": str(tmp_path / "bot-token")})
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == TOKEN
    assert sources["slack_bot_token"] == f"env SLACK_BOT_TOKEN_FILE ({tmp_path / 'bot-token'})"
    config = tmp_path / "c.toml"
    config.write_text('GITHUB_TOKEN_FILE = "bot-token"\n')  # relative to the file's folder
    settings = load_settings({"SECOPS_CONFIG": str(config)})
    assert settings.github_token is not None and settings.github_token.get_secret_value() == TOKEN


def test_secret_file_in_env_overrides_the_value_in_the_config_file(tmp_path):
    (tmp_path / "t").write_text(TOKEN)
    config = tmp_path / "c.toml"
    config.write_text('SLACK_BOT_TOKEN = "xoxb-from-file-0000"\n')
    settings = load_settings({"SECOPS_CONFIG": str(config), "SLACK_BOT_TOKEN_FILE": str(tmp_path / "t")})
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == TOKEN


@pytest.mark.parametrize(
    ("env", "files", "message"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-a-b", "SLACK_BOT_TOKEN_FILE": "t"}, {"t": "x"}, "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set in env; set one"),
        ({"SLACK_BOT_TOKEN_FILE": "missing"}, {}, "SLACK_BOT_TOKEN_FILE missing: No such file or directory"),
        ({"SECOPS_CONFIG": "c.toml"}, {"c.toml": "SECOPS_WINDOWS = 3\n"}, "unknown setting SECOPS_WINDOWS; known:"),
        ({"SECOPS_CONFIG": "c.toml"}, {"c.toml": "GITHUB_TOKN = 'x'\n"}, "unknown setting GITHUB_TOKN; known:"),
        ({"SECOPS_CONFIG": "c.toml"}, {"c.toml": "SECOPS_WINDOW = 'soon'\n"}, "SECOPS_WINDOW (--window) [file c.toml SECOPS_WINDOW]: Value error"),
        ({"SECOPS_CONFIG": "c.toml"}, {"c.toml": "SECOPS_WINDOW = \n"}, "c.toml: not valid TOML"),
        ({"SECOPS_CONFIG": "c.ini"}, {"c.ini": ""}, "use a .toml, .yaml or .yml file"),
        ({"SECOPS_LOG_LEVEL": "loud"}, {}, "SECOPS_LOG_LEVEL (--log-level): Value error, 'loud' is not a log level"),
    ],
)  # fmt: skip
def test_bad_configuration_fails_naming_what_to_fix(tmp_path, monkeypatch, env, files, message):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert message in str(err.value)


def test_config_show_masks_secrets_and_names_each_source(tmp_path):
    (tmp_path / "app").write_text("xapp-1-A111-222-SecretAppTokenValue")
    config = tmp_path / "c.yaml"
    config.write_text("SECOPS_POLL_INTERVAL: 2m\n")
    out, err = io.StringIO(), io.StringIO()
    env = {"SLACK_APP_TOKEN_FILE": str(tmp_path / "app"), "SLACK_BOT_TOKEN": "xoxb-1-2-SecretBotValue"}
    code = main(["--config", str(config), "config", "show"], out=out, err=err, env=env)
    text = out.getvalue()
    assert code == 0, err.getvalue()
    assert "SecretAppTokenValue" not in text and "SecretBotValue" not in text
    rows = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert rows["slack_app_token"].split()[2:] == [
        "********",
        "(set)",
        "env",
        "SLACK_APP_TOKEN_FILE",
        f"({tmp_path / 'app'})",
    ]
    assert rows["poll_interval"].split()[1:] == [
        "SECOPS_POLL_INTERVAL",
        "120.0",
        "file",
        str(config),
        "SECOPS_POLL_INTERVAL",
    ]
    assert rows["github_token"].split()[1:] == ["GITHUB_TOKEN", "-", "default"]


def test_config_show_json_has_every_setting(tmp_path):
    out = io.StringIO()
    assert main(["config", "show", "--json"], out=out, err=io.StringIO(), env={"SECOPS_WINDOW": "1h"}) == 0
    doc = json.loads(out.getvalue())
    assert doc["window"] == {"variable": "SECOPS_WINDOW", "value": "3600.0", "source": "env SECOPS_WINDOW"}
    assert doc["health_port"]["source"] == "default"


def test_version_prints_the_package_version(capsys):
    from bot import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"], env={})
    assert done.value.code == 0 and capsys.readouterr().out == f"secops-bot {__version__}\n"
