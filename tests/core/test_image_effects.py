"""Image bumps as exact effects: the same bump, however the reference is written, is one effect."""

from __future__ import annotations

from bot.core.effects import describe_fix, effect_ids, effects_of_operations


def bump(value: str, target: str = "container:web") -> dict[str, object]:
    return {
        "op": "set_image", "file": "apps/shop/deployment.yaml", "workload": "shop/shop-web", "target": target,
        "expect": "nginx:1.16", "value": value, "evidence": {"findings": ["CVE-2019-20367"], "report": "r.json"},
    }  # fmt: skip


def test_short_and_full_references_are_one_effect():
    short = effects_of_operations([bump("nginx:1.16.1")], {}, {})
    full = effects_of_operations([bump("docker.io/library/nginx:1.16.1")], {}, {})
    assert effect_ids(short) == effect_ids(full) and len(short) == 1


def test_another_version_or_container_is_another_effect():
    base = effect_ids(effects_of_operations([bump("nginx:1.16.1")], {}, {}))
    assert effect_ids(effects_of_operations([bump("nginx:1.17.0")], {}, {})) != base
    assert effect_ids(effects_of_operations([bump("nginx:1.16.1", "container:sidecar")], {}, {})) != base


def test_description_names_the_bump():
    effects = effects_of_operations([bump("nginx:1.16.1")], {}, {})
    assert describe_fix(effects) == "bump the image of container:web to docker.io/library/nginx:1.16.1"
    assert effects[0].exact_only
