"""The exact image edit (bot/image_edit.py): every layout, one scalar written, every other byte kept, refusals
named. Files come from fixtures/gitops/apps/ (hand-written in each image layout) or are written inline."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.edits import SetImage, SetKey
from bot.core.errors import DocumentError, OperationError
from bot.core.guard import check_change
from bot.core.operations.images import Documents
from bot.image_edit import apply_set_image, apply_set_images, current_reference, image_file_change
from bot.yaml_splice import MAX_BYTES
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

SHOP = "apps/shop/deployment.yaml"
COREDNS = "apps/coredns/values.yaml"
RATINGS = "apps/ratings/kustomization.yaml"
RATINGS_IMAGE = "docker.io/istio/examples-bookinfo-ratings-v1"


def fixture(path: str) -> str:
    return (FIXTURES / "gitops" / path).read_bytes().decode("utf-8")


def op(target: str, expect: str, value: str, file: str = SHOP) -> SetImage:
    return SetImage(
        file=file,
        workload="shop/shop-web",
        target=target,
        expect=expect,
        value=value,
        evidence={"findings": ["CVE-2019-20367"], "report": "reports/shop.json"},
    )


def edit(text: str, target: str, expect: str, value: str, file: str = SHOP) -> str:
    return apply_set_image(file, text, op(target, expect, value, file)).after


def refusal(text: str, target: str, expect: str, value: str, file: str = SHOP) -> str:
    with pytest.raises((DocumentError, OperationError)) as exc:
        apply_set_image(file, text, op(target, expect, value, file))
    return str(exc.value)


def deployment(container: str, kind: str = "Deployment") -> str:
    return (
        f"kind: {kind}\nmetadata: {{name: shop-web, namespace: shop}}\nspec:\n  template:\n    spec:\n"
        f"      containers:\n{container}"
    )


# --- every layout: exactly one scalar written -----------------------------------------------------------------


def test_container_image_is_the_only_change():
    before = fixture(SHOP)
    after = edit(before, "container:web", "nginx:1.16", "nginx:1.16.1")
    assert after == before.replace("image: nginx:1.16 #", "image: nginx:1.16.1 #")


def test_init_container_keeps_its_double_quotes_and_comment():
    before = fixture(SHOP)
    after = edit(
        before, "container:migrate", "ghcr.io/acme/shop-migrate:2.3.0", "ghcr.io/acme/shop-migrate:2.4.0"
    )
    assert after == before.replace('"ghcr.io/acme/shop-migrate:2.3.0"', '"ghcr.io/acme/shop-migrate:2.4.0"')


def test_canonical_value_keeps_the_files_short_spelling():
    before = fixture(SHOP)
    after = edit(before, "container:web", "docker.io/library/nginx:1.16", "docker.io/library/nginx:1.17.10")
    assert "image: nginx:1.17.10 # the storefront" in after


def test_helm_values_tag_is_the_only_change():
    before = fixture(COREDNS)
    image = "registry.k8s.io/coredns/coredns"
    after = edit(before, "values:image", f"{image}:v1.10.1", f"{image}:v1.11.1", COREDNS)
    assert after == before.replace("tag: v1.10.1", "tag: v1.11.1")


def test_nested_values_path_keeps_its_quotes():
    before = fixture(COREDNS)
    image = "registry.k8s.io/cpa/cluster-proportional-autoscaler"
    after = edit(before, "values:autoscaler.image", f"{image}:1.8.5", f"{image}:1.8.6", COREDNS)
    assert after == before.replace('tag: "1.8.5"', 'tag: "1.8.6"')


def test_kustomize_new_tag_is_the_only_change():
    before = fixture(RATINGS)
    after = edit(
        before, f"kustomize:{RATINGS_IMAGE}", f"{RATINGS_IMAGE}:1.17.0", f"{RATINGS_IMAGE}:1.18.0", RATINGS
    )
    assert after == before.replace("newTag: 1.17.0   #", "newTag: 1.18.0   #")


def test_kustomize_single_quotes_are_kept():
    before = fixture(RATINGS)
    image = "quay.io/kiwigrid/k8s-sidecar"
    after = edit(before, f"kustomize:{image}", f"{image}:1.22.0", f"{image}:1.22.3", RATINGS)
    assert after == before.replace("newTag: '1.22.0'", "newTag: '1.22.3'")


def test_kustomize_new_name_is_the_reference_held():
    text = "images:\n  - name: nginx\n    newName: ghcr.io/acme/nginx\n    newTag: 1.16.0\n"
    after = edit(text, "kustomize:nginx", "ghcr.io/acme/nginx:1.16.0", "ghcr.io/acme/nginx:1.16.1", RATINGS)
    assert after == text.replace("1.16.0", "1.16.1")


def test_crlf_file_keeps_every_line_ending():
    before = fixture(SHOP).replace("\n", "\r\n")
    after = edit(before, "container:web", "nginx:1.16", "nginx:1.16.1")
    assert after == before.replace("image: nginx:1.16 #", "image: nginx:1.16.1 #")
    assert after.count("\r\n") == before.count("\r\n") and "\n" not in after.replace("\r\n", "")


def test_file_without_final_newline_keeps_none():
    before = deployment("        - name: web\n          image: 'nginx:1.16'")
    assert edit(before, "container:web", "nginx:1.16", "nginx:1.16.1").endswith("image: 'nginx:1.16.1'")


def test_flow_style_container_changes_only_its_image():
    before = deployment("        - {name: web, image: nginx:1.16, args: [run]}\n")
    after = edit(before, "container:web", "nginx:1.16", "nginx:1.16.1")
    assert after == before.replace("image: nginx:1.16,", "image: nginx:1.16.1,")


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("StatefulSet", "spec:\n  template:\n    spec:\n"),
        ("DaemonSet", "spec:\n  template:\n    spec:\n"),
        ("Job", "spec:\n  template:\n    spec:\n"),
        ("CronJob", "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"),
        ("Pod", "spec:\n"),
    ],
)
def test_every_workload_kind_locates_its_containers(kind, spec):
    pad = " " * (spec.count("\n") * 2)
    before = f"kind: {kind}\nmetadata: {{name: x}}\n{spec}{pad}containers:\n{pad}  - name: web\n{pad}    image: nginx:1.16\n"
    assert edit(before, "container:web", "nginx:1.16", "nginx:1.16.1").endswith("image: nginx:1.16.1\n")


def test_values_digest_alone_changes_when_the_tag_stays():
    old, new = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    text = f"image:\n  repository: nginx\n  tag: 1.16.1-alpine\n  digest: {old}\n"
    after = edit(text, "values:image", f"nginx:1.16.1-alpine@{old}", f"nginx:1.16.1-alpine@{new}", COREDNS)
    assert after == text.replace(old, new)


def test_values_registry_and_repository_make_the_reference():
    text = 'image:\n  registry: ghcr.io\n  repository: acme/web\n  tag: "2.1.0"\n'
    after = edit(text, "values:image", "ghcr.io/acme/web:2.1.0", "ghcr.io/acme/web:2.1.1", COREDNS)
    assert after == text.replace('"2.1.0"', '"2.1.1"')


def test_plain_tag_that_would_read_as_a_number_is_written_quoted():
    text = "image:\n  repository: nginx\n  tag: v1.16\n"
    assert edit(text, "values:image", "nginx:v1.16", "nginx:1.17", COREDNS) == text.replace("v1.16", '"1.17"')


def test_value_already_held_changes_nothing():
    before = fixture(SHOP)
    change = apply_set_image(SHOP, before, op("container:web", "nginx:1.15", "docker.io/library/nginx:1.16"))
    assert not change.changed and change.after == before


def test_multi_document_file_is_parsed_as_documents():
    change = apply_set_image(SHOP, fixture(SHOP), op("container:web", "nginx:1.16", "nginx:1.16.1"))
    assert isinstance(change.after_doc, Documents)
    assert [d["kind"] for d in change.after_doc] == ["Deployment", "Service"]
    assert change.spans == (("container:web", 23, 24),)


def test_current_reference_is_the_files_spelling():
    assert current_reference(SHOP, fixture(SHOP), "container:migrate") == "ghcr.io/acme/shop-migrate:2.3.0"
    target = f"kustomize:{RATINGS_IMAGE}"
    assert current_reference(RATINGS, fixture(RATINGS), target) == f"{RATINGS_IMAGE}:1.17.0"


# --- refusals, each with its reason --------------------------------------------------------------------------------


def test_compare_and_set_mismatch_names_what_the_file_holds():
    assert refusal(fixture(SHOP), "container:web", "nginx:1.15", "nginx:1.16.1") == (
        f"{SHOP}: container:web: the file holds nginx:1.16, not the expected nginx:1.15"
    )


def test_assembled_values_reference_is_compared():
    image = "registry.k8s.io/coredns/coredns"
    why = refusal(fixture(COREDNS), "values:image", f"{image}:v1.9.3", f"{image}:v1.11.1", COREDNS)
    assert why.endswith(f"the file holds {image}:v1.10.1, not the expected {image}:v1.9.3")


@pytest.mark.parametrize(
    ("container", "reason"),
    [
        ("        - name: web\n          image: *img\n", "image is an alias (*img)"),
        ("        - name: web\n          image: &i nginx:1.16\n", "image carries the anchor &i"),
        ("        - name: web\n          image: !!str nginx:1.16\n", "image has an explicit tag"),
        ("        - name: web\n          image: |-\n            nginx:1.16\n", "image is a block scalar (|)"),
        (
            '        - name: web\n          image: "nginx:1.1\\\n            6"\n',
            "image is escaped or wrapped over lines",
        ),
        ("        - name: web\n          <<: {image: 'nginx:1.16'}\n", "image may come from a merge key"),
        (
            "        - name: web\n          image: nginx:1.16\n          image: nginx:1.16\n",
            "image appears 2 times",
        ),
        ("        - name: web\n", "spec.template.spec.containers[0] (web) has no image"),
        ("        - name: web\n          image: [nginx]\n", "image is a list or a mapping, not a string"),
    ],
)
def test_container_that_cannot_be_written_exactly_is_refused(container, reason):
    text = "x-anchors: {a: &img nginx:1.16}\n" + deployment(container)
    assert reason in refusal(text, "container:web", "nginx:1.16", "nginx:1.16.1")


def test_two_containers_of_one_name_are_refused():
    text = (
        deployment("        - {name: web, image: nginx:1.16}\n")
        + "---\n"
        + deployment("        - {name: web, image: nginx:1.16}\n", kind="Pod").replace(
            "  template:\n    spec:\n      ", "  "
        )
    )
    why = refusal(text, "container:web", "nginx:1.16", "nginx:1.16.1")
    assert why.endswith("2 containers are named 'web' in the file's workloads (expected one)")


def test_container_of_a_non_workload_kind_is_not_found():
    text = "kind: ConfigMap\nspec:\n  template:\n    spec:\n      containers:\n        - {name: web, image: nginx:1.16}\n"
    assert "0 containers are named 'web'" in refusal(text, "container:web", "nginx:1.16", "nginx:1.16.1")


def test_values_tag_read_as_a_number_is_refused():
    text = "image:\n  repository: nginx\n  tag: 1.10\n"
    why = refusal(text, "values:image", "nginx:1.10", "nginx:1.11", COREDNS)
    assert why == (
        f"{COREDNS}: cannot set values:image exactly: image.tag (1.10) is not read as a string by every YAML "
        "reader (a number or a boolean); quote it in the file first"
    )


def test_values_tag_and_digest_both_changing_are_refused():
    old, new = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    text = f"image:\n  repository: nginx\n  tag: 1.16.1\n  digest: {old}\n"
    why = refusal(text, "values:image", f"nginx:1.16.1@{old}", f"nginx:1.16.2@{new}", COREDNS)
    assert why.endswith("both the tag and the digest would change; set_image writes one scalar")


def test_values_without_the_needed_key_are_refused():
    text = "image:\n  repository: nginx\n  tag: 1.16.1\n"
    why = refusal(text, "values:image", "nginx:1.16.1", f"nginx:1.16.1@sha256:{'b' * 64}", COREDNS)
    assert why.endswith("there is no digest value to change (the bot adds no keys)")


def test_values_repository_change_is_refused():
    why = refusal(
        fixture(COREDNS),
        "values:image",
        "registry.k8s.io/coredns/coredns:v1.10.1",
        "coredns:v1.11.1",
        COREDNS,
    )
    assert why.endswith(
        "set_image writes only the tag or the digest here; registry.k8s.io/coredns/coredns cannot become "
        "docker.io/library/coredns"
    )


def test_values_dropping_the_tag_is_refused():
    digest = "sha256:" + "b" * 64
    text = "image:\n  repository: nginx\n  tag: 1.16.1\n  digest: ''\n"
    why = refusal(text, "values:image", "nginx:1.16.1", f"nginx@{digest}", COREDNS)
    assert why.endswith("both the tag and the digest would change; set_image writes one scalar")


def test_values_path_missing_is_refused():
    assert refusal(fixture(COREDNS), "values:server.image", "nginx:1", "nginx:2", COREDNS).endswith(
        "there is no mapping at server.image"
    )


def test_values_in_a_multi_document_file_are_refused():
    text = "image: {repository: nginx, tag: 1.16.1}\n---\nimage: {repository: nginx, tag: 1.16.1}\n"
    assert refusal(text, "values:image", "nginx:1.16.1", "nginx:1.16.2", COREDNS).endswith(
        "the file holds 2 documents; a values target needs exactly one"
    )


def test_kustomize_entry_named_twice_is_refused():
    text = f"images:\n  - {{name: {RATINGS_IMAGE}, newTag: 1.17.0}}\n  - {{name: {RATINGS_IMAGE}, newTag: 1.17.0}}\n"
    target = f"kustomize:{RATINGS_IMAGE}"
    why = refusal(text, target, f"{RATINGS_IMAGE}:1.17.0", f"{RATINGS_IMAGE}:1.18.0", RATINGS)
    assert why.endswith(f"2 images entries are named '{RATINGS_IMAGE}' (expected one)")


def test_kustomize_entry_without_new_tag_is_refused():
    text = f"images:\n  - name: {RATINGS_IMAGE}\n    newName: ghcr.io/acme/ratings\n"
    why = refusal(
        text, f"kustomize:{RATINGS_IMAGE}", "ghcr.io/acme/ratings", "ghcr.io/acme/ratings:1.0", RATINGS
    )
    assert why.endswith("there is no newTag value to change (the bot adds no keys)")


def test_unparsable_value_is_bad_input():
    assert refusal(fixture(SHOP), "container:web", "nginx:1.16", "nginx:1.16.1; rm -rf /") == (
        f"{SHOP}: set_image value 'nginx:1.16.1; rm -rf /' is not an image reference"
    )


def test_oversized_file_is_refused_before_parsing():
    text = fixture(SHOP) + "# " + "x" * MAX_BYTES + "\n"
    assert "too large to edit" in refusal(text, "container:web", "nginx:1.16", "nginx:1.16.1")


def test_alias_bomb_is_refused_before_expanding():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    text = "\n".join(lines) + "\nimage: {repository: nginx, tag: v1}\n"
    assert "expand to more than" in refusal(text, "values:image", "nginx:v1", "nginx:v2", COREDNS)


def test_one_set_image_per_file():
    ops = [op("container:web", "nginx:1.16", "nginx:1.16.1"), op("container:migrate", "x:1", "x:2")]
    with pytest.raises(
        OperationError, match="2 set_image operations for one file; one per file per proposal"
    ):
        apply_set_images(SHOP, fixture(SHOP), ops)


def test_set_image_and_another_family_in_one_file():
    ops = [op("container:web", "nginx:1.16", "nginx:1.16.1"), SetKey(file=SHOP, key="a", value="b")]
    with pytest.raises(
        OperationError, match="set_image and set_key in one file; one operation family per file"
    ):
        apply_set_images(SHOP, fixture(SHOP), ops)


def test_image_file_change_reports_an_after_text_that_does_not_parse():
    before = fixture(COREDNS)
    change = image_file_change(COREDNS, before, before + "  bad: [\n")
    assert change.parse_error is not None and change.parse_error.startswith("not valid YAML")


# --- property: whatever the editor writes, the guard's structural proofs agree -----------------------------------

_LAYOUTS = [
    (SHOP, "shop/shop-web", "container:web", "nginx:1.16", "nginx"),
    (
        COREDNS,
        "kube-system/coredns",
        "values:image",
        "registry.k8s.io/coredns/coredns:v1.10.1",
        "registry.k8s.io/coredns/coredns",
    ),
    (RATINGS, "apps/app1", f"kustomize:{RATINGS_IMAGE}", f"{RATINGS_IMAGE}:1.17.0", RATINGS_IMAGE),
]
_PROOFS = ("yaml_valid", "kind_and_name_kept", "only_named_keys", "image_one_scalar", "image_same_repository",
           "image_compare_and_set", "only_edited_lines")  # fmt: skip
_INVENTORY = load_inventory(FIXTURES / "cmdb.yaml")


@settings(max_examples=150, deadline=None)
@given(
    layout=st.sampled_from(_LAYOUTS),
    tag=st.text("abcv0123456789.-_", min_size=1, max_size=12),
    digest=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
    crlf=st.booleans(),
)
def test_every_written_edit_passes_the_guards_structural_proofs(layout, tag, digest, crlf):
    path, workload, target, expect, name = layout
    text = fixture(path).replace("\n", "\r\n") if crlf else fixture(path)
    value = f"{name}:{tag}" + (f"@sha256:{digest}" if digest else "")
    set_image = SetImage(
        file=path, workload=workload, target=target, expect=expect, value=value,
        evidence={"findings": ["CVE-2019-20367"], "report": "r.json"},
    )  # fmt: skip
    try:
        change = apply_set_image(path, text, set_image)
    except (DocumentError, OperationError):
        return  # refused with a reason: nothing written
    report = check_change([change], [set_image], _INVENTORY, [workload])
    failed = [f"{c.name}: {c.detail}" for c in report.checks if c.name in _PROOFS and not c.passed]
    assert not change.changed or not failed, failed
