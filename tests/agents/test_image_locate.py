"""Reading the image reference an inventory target points at (agents/image_locate.py)."""

from __future__ import annotations

from agents.image_locate import Located, current_reference, locate, rewritten
from bot.core.image_refs import parse_image
from bot.core.inventory import ImageTarget

CRONJOB = """\
apiVersion: v1
kind: Service
metadata: {name: backup}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - {name: dump, image: "localhost:5000/ops/pg-dump:15.4"}
"""


def workload_image(container: str) -> ImageTarget:
    return ImageTarget(path="ops/backup.yaml", kind="workload-image", container=container)


def test_cronjob_container_in_a_multi_document_file():
    found = locate(CRONJOB, workload_image("dump"))
    assert found == Located(
        "container:dump", "localhost:5000/ops/pg-dump:15.4", parse_image("localhost:5000/ops/pg-dump:15.4")
    )


def test_container_of_two_workloads_is_taken_from_the_named_one():
    text = (
        CRONJOB
        + "---\n"
        + CRONJOB.split("---\n")[1].replace("name: backup", "name: other").replace("15.4", "16.0")
    )
    assert locate(text, workload_image("dump")) == "ops/backup.yaml has 2 containers named dump"
    found = locate(text, workload_image("dump"), "other")
    assert isinstance(found, Located) and found.ref.tag == "16.0"


def test_missing_container_and_bad_yaml_say_why():
    assert locate(CRONJOB, workload_image("web")) == "ops/backup.yaml has no container web"
    assert locate("a: [b", workload_image("web")) == "ops/backup.yaml is not valid YAML"
    broken = CRONJOB.replace('"localhost:5000/ops/pg-dump:15.4"', '"pg dump; rm -rf /"')
    assert locate(broken, workload_image("dump")) == (
        "ops/backup.yaml has no readable image reference at container dump"
    )


def test_helm_values_with_registry_and_kustomize_new_name():
    values = ImageTarget(path="v.yaml", kind="helm-values", values_path="app.image")
    text = "app:\n  image:\n    registry: ghcr.io\n    repository: acme/web\n    tag: v2.1.0\n"
    assert current_reference(text, values) == parse_image("ghcr.io/acme/web:v2.1.0")
    kust = ImageTarget(path="k.yaml", kind="kustomize-images", image="nginx")
    text = "images:\n  - name: nginx\n    newName: ghcr.io/acme/nginx\n    newTag: 1.25.3\n"
    assert locate(text, kust) == Located(
        "kustomize:nginx", "ghcr.io/acme/nginx:1.25.3", parse_image("ghcr.io/acme/nginx:1.25.3")
    )


def test_targets_without_a_version_are_not_read():
    values = ImageTarget(path="v.yaml", kind="helm-values")
    assert locate("image: {repository: nginx}\n", values) == "v.yaml sets no tag or digest at image"
    kust = ImageTarget(path="k.yaml", kind="kustomize-images", image="nginx")
    assert locate("images:\n  - name: nginx\n  - name: nginx\n", kust) == (
        "k.yaml has 2 images entry nginx(s), not one"
    )


def test_rewritten_keeps_the_files_spelling():
    assert rewritten("nginx:1.16", "1.16.1", "") == "nginx:1.16.1"
    assert rewritten("localhost:5000/app:1.0", "1.1", "") == "localhost:5000/app:1.1"
    sha = "sha256:" + "b" * 64
    assert (
        rewritten("docker.io/library/nginx:1.16@sha256:" + "a" * 64, "1.16.1", sha)
        == f"docker.io/library/nginx:1.16.1@{sha}"
    )
