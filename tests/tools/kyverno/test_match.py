from tests.tools.kyverno.policies import pod
from tools.kyverno.match import Admission, RequestInfo, parse_kind_selector, rule_matches


def rule(match, exclude=None):
    return {"name": "r", "match": match, **({"exclude": exclude} if exclude else {})}


def test_kind_selector_forms_parse():
    assert parse_kind_selector("Pod") == ("*", "*", "Pod", "")
    assert parse_kind_selector("batch/v1/CronJob") == ("batch", "v1", "CronJob", "")
    assert parse_kind_selector("Pod/exec") == ("*", "*", "Pod", "exec")
    assert parse_kind_selector("v1/Pod") == ("*", "v1", "Pod", "")


def test_group_version_kind_must_match_resource():
    assert rule_matches(rule({"any": [{"resources": {"kinds": ["v1/Pod"]}}]}), pod(), Admission())
    assert not rule_matches(rule({"any": [{"resources": {"kinds": ["apps/v1/Pod"]}}]}), pod(), Admission())


def test_exclude_namespaces_removes_match():
    r = rule({"any": [{"resources": {"kinds": ["Pod"]}}]}, {"any": [{"resources": {"namespaces": ["def*"]}}]})
    assert not rule_matches(r, pod(), Admission())


def test_all_block_needs_every_filter():
    r = rule({"all": [{"resources": {"kinds": ["Pod"]}}, {"resources": {"names": ["api"]}}]})
    assert not rule_matches(r, pod(), Admission())


def test_operations_filter_uses_request_operation():
    r = rule({"any": [{"resources": {"kinds": ["Pod"], "operations": ["UPDATE"]}}]})
    assert not rule_matches(r, pod(), Admission("CREATE"))
    assert rule_matches(r, pod(), Admission("UPDATE"))


def test_userinfo_exclude_without_request_info_never_excludes():
    r = rule({"any": [{"resources": {"kinds": ["Pod"]}}]}, {"any": [{"clusterRoles": ["cluster-admin"]}]})
    assert rule_matches(r, pod(), Admission())
    assert not rule_matches(r, pod(), Admission(request=RequestInfo(cluster_roles=("cluster-admin",))))


def test_selector_match_expressions():
    resource = pod()
    resource["metadata"]["labels"] = {"tier": "web"}
    sel = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}
    assert rule_matches(
        rule({"any": [{"resources": {"kinds": ["Pod"], "selector": sel}}]}), resource, Admission()
    )
