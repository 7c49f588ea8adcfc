"""The deploy files say what the docs promise: least Slack scopes, no cluster access for the bot."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT


def test_slack_manifest_has_the_command_events_and_least_scopes():
    manifest = yaml.safe_load((ROOT / "deploy" / "slack-app-manifest.yaml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/secops-scan"]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "channels:read",
        "chat:write",
        "commands",
        "groups:read",
        "usergroups:read",
        "users:read",
    ]
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "app_home_opened"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_kubernetes_manifest_gives_the_bot_no_cluster_credentials():
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s" / "secops-bot.yaml").read_text()))
    kinds = [d["kind"] for d in docs]
    assert not {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} & set(kinds)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_containerfile_is_multi_stage_non_root_and_ships_the_model():
    text = (ROOT / "deploy" / "Containerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    assert "USER 10001:10001" in text and "COPY --from=build /opt/secops-bot /opt/secops-bot" in text
    assert (
        "MiniLmEmbedder().embed" in text
    )  # the model loads offline at build time: nothing downloaded at start
    assert "HF_HUB_OFFLINE=1" in text.split("FROM ${PYTHON_IMAGE}\n")[1]
