"""The image family's pure parts: locating a reference in parsed documents, comparing documents, and the
text-only line proof of ``only_edited_lines`` for a set_image (bot/core/operations/images.py, fidelity.py), and
the whole report of a passing bump."""

from __future__ import annotations

from bot.core.edits import SetImage
from bot.core.fidelity import first_value_difference
from bot.core.guard import check_change
from bot.core.operations.images import differences, locate, reference_text
from bot.yaml_edit import apply_operations, repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

DEPLOYMENT = {
    "kind": "Deployment",
    "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.16"}]}}},
}


def test_differences_are_type_strict():
    assert differences({"replicas": 1}, {"replicas": True}) == [(("replicas",), True)]
    assert differences({"a": 1.0}, {"a": 1}) == [(("a",), True)]


def test_differences_name_structure_changes():
    assert differences({"a": [1]}, {"a": [1, 2]}) == [(("a",), False)]
    assert differences({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}) == [(("a",), False)]
    assert differences({"a": "x"}, {"a": ["x"]}) == [(("a",), False)]


def test_differences_find_nothing_in_equal_documents():
    assert differences([DEPLOYMENT], [DEPLOYMENT]) == []


def test_locate_finds_the_one_container():
    loc, why = locate([DEPLOYMENT], "container:web")
    assert why == "" and loc is not None
    assert loc.path == (0, "spec", "template", "spec", "containers", 0)
    assert reference_text([DEPLOYMENT], loc) == ("nginx:1.16", "")


def test_locate_refuses_a_kind_that_is_not_hashable():
    doc = {"kind": ["Deployment"], "spec": DEPLOYMENT["spec"]}
    assert locate([doc], "container:web") == (
        None,
        "0 containers named 'web' in the file's workloads (expected one)",
    )


def test_values_tag_that_is_a_number_is_a_problem():
    docs = [{"image": {"repository": "nginx", "tag": 1.1}}]
    loc, _ = locate(docs, "values:image")
    assert loc is not None
    assert reference_text(docs, loc) == ("", "tag is a float (1.1), not a string")


def test_kustomize_reference_prefers_new_name():
    docs = [{"images": [{"name": "nginx", "newName": "ghcr.io/acme/nginx", "newTag": "1.2.3"}]}]
    loc, _ = locate(docs, "kustomize:nginx")
    assert loc is not None and reference_text(docs, loc) == ("ghcr.io/acme/nginx:1.2.3", "")


def test_line_proof_accepts_only_the_value_of_the_named_key():
    before = "a: 1\n  image: nginx:1.16 # web\n"
    assert first_value_difference(before, before.replace("1.16", "1.17"), ["image"]) is None
    assert first_value_difference(before, before.replace("# web", "# x"), ["image"]) == 2
    assert first_value_difference(before, before.replace("a: 1", "a: 2"), ["image"]) == 1


def test_line_proof_refuses_a_value_of_another_key():
    before = "  tag: v1\n  pullPolicy: IfNotPresent\n"
    assert first_value_difference(before, before.replace("IfNotPresent", "Always"), ["tag", "digest"]) == 2


def test_line_proof_refuses_a_second_changed_line():
    before = "  image: a:1\n  image: b:1\n"
    assert first_value_difference(before, "  image: a:2\n  image: b:2\n", ["image"]) == 2


def test_line_proof_refuses_a_changed_line_ending_or_an_added_line():
    before = "  image: a:1\n"
    assert first_value_difference(before, "  image: a:2\r\n", ["image"]) == 1
    assert first_value_difference(before, "  image: a:2\nx: 1\n", ["image"]) == 2


def test_line_proof_reads_flow_and_quoted_values():
    before = "  - {name: web, image: 'nginx:1.16', args: [x]}\n"
    after = before.replace("'nginx:1.16'", "'nginx:1.16.1'")
    assert first_value_difference(before, after, ["image"]) is None
    assert first_value_difference(before, after.replace("[x]", "[y]"), ["image"]) == 1


def test_set_image_report_names_every_check_in_order():
    op = SetImage(
        file="apps/coredns/values.yaml",
        workload="kube-system/coredns",
        target="values:image",
        expect="registry.k8s.io/coredns/coredns:v1.10.1",
        value="registry.k8s.io/coredns/coredns:v1.11.1",
        evidence={"findings": ["CVE-2022-1996"], "report": "reports/cluster.json"},
    )
    changes = apply_operations([op], repo_reader(FIXTURES / "gitops"))
    inventory = load_inventory(FIXTURES / "cmdb.yaml")
    report = check_change(changes, [op], inventory, ["kube-system/coredns"], finding_ids=["CVE-2022-1996"])
    assert report.passed, report.summary()
    assert [c.name for c in report.checks] == [
        "has_change", "one_operation_family", "files_in_inventory", "no_forbidden_paths", "yaml_valid",
        "kind_and_name_kept", "only_named_keys", "diff_size", "image_target_listed", "image_one_scalar",
        "image_same_repository", "image_tag_immutable", "image_no_downgrade", "image_evidence",
        "image_compare_and_set", "only_edited_lines",
    ]  # fmt: skip
    details = {c.name: c.detail for c in report.checks}
    assert details["kind_and_name_kept"] == "apps/coredns/values.yaml (no kind) kept"
    assert details["image_evidence"] == "1 finding id(s) with their report, all of this group's"
    assert details["image_no_downgrade"] == "newer versions: v1.10.1 → v1.11.1"
