import pytest

from tools.kyverno.pattern import FAIL, NEGATION, SKIP, match_pattern, validate_value

CONDITIONAL_LATEST = {"spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "!IfNotPresent"}]}}


def pod(*containers):
    return {"spec": {"containers": list(containers)}}


def test_conditional_list_passes_when_matching_element_complies():
    resource = pod({"image": "nginx:latest", "imagePullPolicy": "Always"}, {"image": "busybox:1.0"})
    assert match_pattern(resource, CONDITIONAL_LATEST) is None


def test_conditional_list_fails_when_matching_element_violates():
    found = match_pattern(
        pod({"image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}), CONDITIONAL_LATEST
    )
    assert found is not None and found.kind == FAIL


def test_conditional_list_skips_when_no_element_matches_condition():
    found = match_pattern(pod({"image": "busybox:1.0"}), CONDITIONAL_LATEST)
    assert found is not None and found.kind == SKIP


def test_negation_anchor_fails_when_key_present_even_if_null():
    found = match_pattern({"spec": {"hostPath": None}}, {"spec": {"X(hostPath)": "null"}})
    assert found is not None and found.kind == NEGATION


def test_equality_anchor_ignores_missing_key():
    assert match_pattern({"spec": {}}, {"spec": {"=(securityContext)": {"=(privileged)": "false"}}}) is None


def test_equality_anchor_fails_on_true_bool():
    resource = {"spec": {"securityContext": {"privileged": True}}}
    found = match_pattern(resource, {"spec": {"=(securityContext)": {"=(privileged)": "false"}}})
    assert found is not None and found.path == "/spec/securityContext/privileged/"


def test_existence_anchor_needs_one_matching_element():
    pattern = {"spec": {"^(containers)": [{"name": "sidecar"}]}}
    assert match_pattern(pod({"name": "app"}, {"name": "sidecar"}), pattern) is None
    assert match_pattern(pod({"name": "app"}), pattern) is not None


def test_global_anchor_mismatch_skips_rule():
    pattern = {"spec": {"<(runtimeClassName)": "gvisor", "hostNetwork": False}}
    found = match_pattern({"spec": {"runtimeClassName": "runc", "hostNetwork": True}}, pattern)
    assert found is not None and found.kind == SKIP


def test_star_pattern_requires_non_null_key():
    assert match_pattern({"m": {"a": 1.0}}, {"m": {"a": "*"}}) is None
    assert match_pattern({"m": {}}, {"m": {"a": "*"}}) is not None


def test_metadata_label_wildcard_key_is_expanded():
    resource = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}}
    assert match_pattern(resource, {"metadata": {"labels": {"app.kubernetes.io/*": "?*"}}}) is None


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (None, ">=0", True),
        (None, ">0", False),
        (None, "<=1Gi", True),
        (None, "!x", False),
        (None, "", False),
        ("", "", True),
        (None, None, True),
        (0.0, None, True),
        (80.0, "8*", True),
        (80.0, "*0", False),
        ("1024Mi", "1Gi", True),
        ("512Mi", "100Mi-1Gi", True),
        ("2Gi", "100Mi-1Gi", False),
        ("5", "1!-10", False),
        ("RuntimeDefault", "RuntimeDefault | Localhost", True),
        ("90m", ">1h", True),
        ("30m", ">1h", False),
        (None, "<1h", True),
        (True, "false", False),
        ("true", True, False),
        (3.5, 3, False),
        ("!", "!", True),
    ],
)
def test_scalar_pattern_table_matches_kyverno(value, pattern, expected):
    assert validate_value(value, pattern) is expected
