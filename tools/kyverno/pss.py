"""``validate.podSecurity``: the Pod Security Standards controls, as Kyverno's ``pkg/pss`` applies them.

Kyverno runs the checks of ``k8s.io/pod-security-admission`` (its fork, which reports one field error per
offending field) and then removes, for each ``exclude`` entry, the field errors the same checks raise on
either the pod with its containers replaced by one bare ``fake`` container (entries without ``images``) or a
pod holding only the containers whose image matches (entries with ``images``). A check whose field errors
are all removed no longer counts; the rule passes when no check is left.

We model each field error as (field with indexes replaced by ``*``, container name or None, kind), where
kind tells an explicitly bad value from a value left unset. Only ``version: latest`` (or none) is
evaluated. Anything whose answer would depend on details we cannot vouch for raises
:class:`~tools.kyverno.errors.Unsupported`: other versions, ``restrictedField``/``values`` in an exclusion,
user-namespace pods (``hostUsers: false``) and non-Linux pods (relaxations that changed across releases),
AppArmor and host probe failures (the fork attaches no field errors to them), and a bare-container
error standing in for an explicitly bad value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.kyverno.errors import Unsupported
from tools.kyverno.units import wildcard_match

CONTROLLERS = ("DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController")
CONTAINER_TYPES = ("containers", "initContainers", "ephemeralContainers")
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    }
)  # fmt: skip
ALLOWED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected",
     "secret"}
)  # fmt: skip
VALID_SECCOMP = ("RuntimeDefault", "Localhost")

# Kyverno's control names (pkg/pss/utils/mapping.go) and the check ids they exempt
CONTROL_CHECKS: dict[str, tuple[str, ...]] = {
    "Capabilities": ("capabilities_baseline", "capabilities_restricted"),
    "Seccomp": ("seccompProfile_baseline", "seccompProfile_restricted"),
    "Privileged Containers": ("privileged",),
    "Host Ports": ("hostPorts",),
    "/proc Mount Type": ("procMount",),
    "Host Probes / Lifecycle Hooks": ("hostProbesAndHostLifecycle",),
    "HostProcess": ("windowsHostProcess",),
    "SELinux": ("seLinuxOptions",),
    "Host Namespaces": ("hostNamespaces",),
    "HostPath Volumes": ("hostPathVolumes",),
    "Sysctls": ("sysctls",),
    "AppArmor": ("appArmorProfile",),
    "Privilege Escalation": ("allowPrivilegeEscalation",),
    "Running as Non-root": ("runAsNonRoot",),
    "Running as Non-root user": ("runAsUser",),
    "Volume Types": ("restrictedVolumes",),
}
# checks whose failures carry no field errors in Kyverno's fork: exclusions and messages cannot use them
NO_FIELD_ERRORS = frozenset({"appArmorProfile", "hostProbesAndHostLifecycle"})
EXPLICIT, IMPLICIT = "explicit", "implicit"


@dataclass(frozen=True)
class FieldError:
    """One offending field: its path with indexes as ``*``, the container's name (or None), and kind."""

    field: str
    container: str | None = None
    kind: str = EXPLICIT


Pod = dict[str, Any]


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _typed(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    """``value`` when it is None or of ``kind``; otherwise Kyverno would fail to decode the pod."""
    if value is None or (isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))):
        return value
    raise Unsupported(f"podSecurity: {where} has an unexpected type ({type(value).__name__})")


def _containers(spec: Pod) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for ctype in CONTAINER_TYPES:
        for container in _typed(spec.get(ctype), list, f"spec.{ctype}") or []:
            if not isinstance(container, dict):
                raise Unsupported(f"podSecurity: an entry of spec.{ctype} is not an object")
            out.append((ctype, container))
    return out


def _sc(container: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    return _typed(_get(container, "securityContext", key), kind, f"securityContext.{key}")


def _pod_sc(spec: Pod, key: str, kind: type | tuple[type, ...]) -> Any:
    return _typed(_get(spec, "securityContext", key), kind, f"spec.securityContext.{key}")


def _cfield(ctype: str, rest: str) -> str:
    return f"spec.{ctype}[*].{rest}"


def _host_namespaces(meta: Pod, spec: Pod) -> list[FieldError]:
    return [
        FieldError(f"spec.{k}") for k in ("hostNetwork", "hostPID", "hostIPC") if _typed(spec.get(k), bool, k)
    ]


def _privileged(meta: Pod, spec: Pod) -> list[FieldError]:
    return [
        FieldError(_cfield(t, "securityContext.privileged"), c.get("name"))
        for t, c in _containers(spec)
        if _sc(c, "privileged", bool)
    ]


def _capabilities_baseline(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    for t, c in _containers(spec):
        added = _typed(_get(c, "securityContext", "capabilities", "add"), list, "capabilities.add") or []
        if any(cap not in BASELINE_CAPABILITIES for cap in added):
            out.append(FieldError(_cfield(t, "securityContext.capabilities.add"), c.get("name")))
    return out


def _host_path_volumes(meta: Pod, spec: Pod) -> list[FieldError]:
    volumes = _typed(spec.get("volumes"), list, "spec.volumes") or []
    return [FieldError("spec.volumes[*].hostPath") for v in volumes if _get(v, "hostPath") is not None]


def _host_ports(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    for t, c in _containers(spec):
        for port in _typed(c.get("ports"), list, "ports") or []:
            if _typed(_get(port, "hostPort"), (int, float), "hostPort"):
                out.append(FieldError(_cfield(t, "ports[*].hostPort"), c.get("name")))
    return out


def _app_armor(meta: Pod, spec: Pod) -> list[FieldError]:
    bad = False
    for key, value in (_typed(meta.get("annotations"), dict, "annotations") or {}).items():
        if str(key).startswith("container.apparmor.security.beta.kubernetes.io/"):
            text = str(value)
            bad = bad or not (text == "" or text == "runtime/default" or text.startswith("localhost/"))
    profiles = [_get(spec, "securityContext", "appArmorProfile")]
    profiles += [_get(c, "securityContext", "appArmorProfile") for _, c in _containers(spec)]
    bad = bad or any(p is not None and _get(p, "type") not in VALID_SECCOMP for p in profiles)
    return [FieldError("appArmorProfile")] if bad else []


def _selinux(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []

    def check(opts: Any, prefix: str, name: str | None) -> None:
        if opts is None:
            return
        if not isinstance(opts, dict):
            raise Unsupported("podSecurity: seLinuxOptions is not an object")
        if (opts.get("type") or "") not in SELINUX_TYPES:
            out.append(FieldError(f"{prefix}.seLinuxOptions.type", name))
        for key in ("user", "role"):
            if opts.get(key):
                out.append(FieldError(f"{prefix}.seLinuxOptions.{key}", name))

    check(_get(spec, "securityContext", "seLinuxOptions"), "spec.securityContext", None)
    for t, c in _containers(spec):
        check(_get(c, "securityContext", "seLinuxOptions"), _cfield(t, "securityContext"), c.get("name"))
    return out


def _proc_mount(meta: Pod, spec: Pod) -> list[FieldError]:
    return [
        FieldError(_cfield(t, "securityContext.procMount"), c.get("name"))
        for t, c in _containers(spec)
        if _sc(c, "procMount", str) not in (None, "Default")
    ]


def _seccomp_baseline(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    if _typed(_get(spec, "securityContext", "seccompProfile", "type"), str, "seccompProfile") == "Unconfined":
        out.append(FieldError("spec.securityContext.seccompProfile.type"))
    for t, c in _containers(spec):
        if _get(c, "securityContext", "seccompProfile", "type") == "Unconfined":
            out.append(FieldError(_cfield(t, "securityContext.seccompProfile.type"), c.get("name")))
    return out


def _sysctls(meta: Pod, spec: Pod) -> list[FieldError]:
    sysctls = _pod_sc(spec, "sysctls", list) or []
    return [
        FieldError("spec.securityContext.sysctls[*].name") for s in sysctls if _get(s, "name") not in SYSCTLS
    ]


def _windows_host_process(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    if _typed(_get(spec, "securityContext", "windowsOptions", "hostProcess"), bool, "hostProcess"):
        out.append(FieldError("spec.securityContext.windowsOptions.hostProcess"))
    for t, c in _containers(spec):
        if _typed(_get(c, "securityContext", "windowsOptions", "hostProcess"), bool, "hostProcess"):
            out.append(FieldError(_cfield(t, "securityContext.windowsOptions.hostProcess"), c.get("name")))
    return out


def _host_probes(meta: Pod, spec: Pod) -> list[FieldError]:
    for _, c in _containers(spec):
        handlers = [c.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [_get(c, "lifecycle", h) for h in ("postStart", "preStop")]
        for handler in handlers:
            if any(_get(handler, kind, "host") for kind in ("httpGet", "tcpSocket")):
                return [FieldError("hostProbesAndHostLifecycle")]
    return []


def _restricted_volumes(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    for volume in _typed(spec.get("volumes"), list, "spec.volumes") or []:
        if not isinstance(volume, dict):
            raise Unsupported("podSecurity: a volume is not an object")
        sources = [k for k, v in volume.items() if k != "name" and v is not None]
        if not any(k in ALLOWED_VOLUMES for k in sources):
            # the fork names the first restricted source it recognises; any one of them is one error
            out.append(FieldError("spec.volumes[*]." + (sources[0] if len(sources) == 1 else "?")))
    return out


def _allow_privilege_escalation(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    for t, c in _containers(spec):
        value = _sc(c, "allowPrivilegeEscalation", bool)
        if value is not False:
            kind = IMPLICIT if value is None else EXPLICIT
            out.append(
                FieldError(_cfield(t, "securityContext.allowPrivilegeEscalation"), c.get("name"), kind)
            )
    return out


def _run_as_non_root(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    pod_value = _pod_sc(spec, "runAsNonRoot", bool)
    if pod_value is False:
        out.append(FieldError("spec.securityContext.runAsNonRoot"))
    for t, c in _containers(spec):
        value = _sc(c, "runAsNonRoot", bool)
        if value is False:
            out.append(FieldError(_cfield(t, "securityContext.runAsNonRoot"), c.get("name")))
        elif value is None and pod_value is not True:
            out.append(FieldError(_cfield(t, "securityContext.runAsNonRoot"), c.get("name"), IMPLICIT))
    return out


def _run_as_user(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    if _pod_sc(spec, "runAsUser", (int, float)) == 0:
        out.append(FieldError("spec.securityContext.runAsUser"))
    for t, c in _containers(spec):
        if _sc(c, "runAsUser", (int, float)) == 0:
            out.append(FieldError(_cfield(t, "securityContext.runAsUser"), c.get("name")))
    return out


def _seccomp_restricted(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    pod_type = _get(spec, "securityContext", "seccompProfile")
    pod_ok = False
    if pod_type is not None:
        if _get(pod_type, "type") in VALID_SECCOMP:
            pod_ok = True
        else:
            out.append(FieldError("spec.securityContext.seccompProfile.type"))
    for t, c in _containers(spec):
        profile = _get(c, "securityContext", "seccompProfile")
        if profile is not None:
            if _get(profile, "type") not in VALID_SECCOMP:
                out.append(FieldError(_cfield(t, "securityContext.seccompProfile.type"), c.get("name")))
        elif not pod_ok:
            out.append(FieldError(_cfield(t, "securityContext.seccompProfile.type"), c.get("name"), IMPLICIT))
    return out


def _capabilities_restricted(meta: Pod, spec: Pod) -> list[FieldError]:
    out = []
    for t, c in _containers(spec):
        caps = _get(c, "securityContext", "capabilities")
        drop = _typed(_get(caps, "drop"), list, "capabilities.drop")
        if drop is None:
            out.append(FieldError(_cfield(t, "securityContext.capabilities.drop"), c.get("name"), IMPLICIT))
        elif "ALL" not in drop:
            out.append(FieldError(_cfield(t, "securityContext.capabilities.drop"), c.get("name")))
        added = _typed(_get(caps, "add"), list, "capabilities.add") or []
        if any(cap != "NET_BIND_SERVICE" for cap in added):
            out.append(FieldError(_cfield(t, "securityContext.capabilities.add"), c.get("name")))
    return out


# (check id, level, check) in the order of pod-security-admission's registry
CHECKS = (
    ("appArmorProfile", "baseline", _app_armor),
    ("capabilities_baseline", "baseline", _capabilities_baseline),
    ("hostNamespaces", "baseline", _host_namespaces),
    ("hostPathVolumes", "baseline", _host_path_volumes),
    ("hostPorts", "baseline", _host_ports),
    ("hostProbesAndHostLifecycle", "baseline", _host_probes),
    ("privileged", "baseline", _privileged),
    ("procMount", "baseline", _proc_mount),
    ("seccompProfile_baseline", "baseline", _seccomp_baseline),
    ("seLinuxOptions", "baseline", _selinux),
    ("sysctls", "baseline", _sysctls),
    ("windowsHostProcess", "baseline", _windows_host_process),
    ("allowPrivilegeEscalation", "restricted", _allow_privilege_escalation),
    ("capabilities_restricted", "restricted", _capabilities_restricted),
    ("restrictedVolumes", "restricted", _restricted_volumes),
    ("runAsNonRoot", "restricted", _run_as_non_root),
    ("runAsUser", "restricted", _run_as_user),
    ("seccompProfile_restricted", "restricted", _seccomp_restricted),
)


def evaluate_checks(level: str, meta: Pod, spec: Pod) -> dict[str, list[FieldError]]:
    """Every failing check of ``level`` (baseline, or baseline + restricted) with its field errors."""
    failed = {}
    for check_id, check_level, check in CHECKS:
        if level == "baseline" and check_level != "baseline":
            continue
        errors = check(meta, spec)
        if errors:
            failed[check_id] = errors
    return failed


def pod_of(resource: dict[str, Any]) -> tuple[Pod, Pod]:
    """(metadata, spec) of the pod a Pod, a Pod controller or a CronJob describes (Kyverno's getSpec)."""
    kind = resource.get("kind")
    if kind == "Pod":
        return resource.get("metadata") or {}, resource.get("spec") or {}
    if kind in CONTROLLERS:
        template = _get(resource, "spec", "template") or {}
        return template.get("metadata") or {}, template.get("spec") or {}
    if kind == "CronJob":
        job = _get(resource, "spec", "jobTemplate") or {}
        return job.get("metadata") or {}, _get(job, "spec", "template", "spec") or {}
    raise Unsupported(f"podSecurity on a {kind}: Kyverno reports an error we do not reproduce")


def _exclusion_pod(exclude: dict[str, Any], meta: Pod, spec: Pod) -> tuple[Pod, Pod, bool]:
    """The pod whose errors an exclusion exempts, and whether it is a container-level exclusion."""
    images = exclude.get("images") or []
    if not images:
        fake = {k: v for k, v in spec.items() if k not in CONTAINER_TYPES}
        fake["containers"] = [{"name": "fake"}]
        return meta, fake, False
    matching: Pod = {}
    for ctype in CONTAINER_TYPES:
        kept = [
            c
            for c in spec.get(ctype) or []
            if any(wildcard_match(p, str(c.get("image", ""))) for p in images)
        ]
        if kept:
            matching[ctype] = kept
    return {}, matching, True


def _exempt(
    failed: dict[str, list[FieldError]],
    exempted: dict[str, list[FieldError]],
    control: str,
    by_container: bool,
) -> None:
    for check_id in CONTROL_CHECKS.get(control, ()):
        if check_id not in exempted or check_id not in failed:
            continue
        if check_id in NO_FIELD_ERRORS:
            raise Unsupported(f"podSecurity: excluding {control} hits a check Kyverno reports without fields")
        remaining = list(failed[check_id])
        for err in exempted[check_id]:
            for i, candidate in enumerate(remaining):
                if candidate.field != err.field:
                    continue
                if by_container and err.container is not None and candidate.container != err.container:
                    continue
                if not by_container and candidate.kind != err.kind:
                    raise Unsupported(
                        f"podSecurity: whether excluding {control} exempts {candidate.field} depends on "
                        "field errors we do not model"
                    )
                del remaining[i]
                break
        if remaining:
            failed[check_id] = remaining
        else:
            del failed[check_id]


CONTAINER_ONLY_CONTROLS = frozenset(
    {"Capabilities", "Privileged Containers", "Host Ports", "/proc Mount Type", "Privilege Escalation",
     "Host Probes / Lifecycle Hooks"}
)  # fmt: skip
POD_ONLY_CONTROLS = frozenset({"Host Namespaces", "HostPath Volumes", "Sysctls", "Volume Types"})
RESTRICTED_CONTROLS = frozenset(
    {"Volume Types", "Privilege Escalation", "Running as Non-root", "Running as Non-root user"}
)


def _check_exclude_shape(exclude: dict[str, Any], level: str) -> None:
    """Exclusions that Kyverno's policy validation may reject: refuse rather than guess."""
    control = str(exclude.get("controlName", ""))
    images = exclude.get("images") or []
    if control not in CONTROL_CHECKS:
        raise Unsupported(f"podSecurity exclude: unknown controlName {control!r}")
    if (control in CONTAINER_ONLY_CONTROLS and not images) or (control in POD_ONLY_CONTROLS and images):
        raise Unsupported(
            f"podSecurity exclude of {control!r} with images={images!r} may be rejected by Kyverno"
        )
    if level == "baseline" and control in RESTRICTED_CONTROLS:
        raise Unsupported(f"podSecurity exclude of restricted control {control!r} in a baseline rule")
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise Unsupported("podSecurity exclude images must be a list of strings")


def evaluate_pod_security(
    rule_name: str, pod_security: dict[str, Any], resource: dict[str, Any]
) -> tuple[str, str]:
    """(status, message) of a ``validate.podSecurity`` rule on ``resource``."""
    level = pod_security.get("level")
    version = pod_security.get("version") or "latest"
    if level not in ("baseline", "restricted", "privileged"):
        raise Unsupported(f"podSecurity level {level!r} is not supported")
    if version != "latest":
        raise Unsupported(f"podSecurity version {version!r}: only 'latest' is supported")
    meta, spec = pod_of(resource)
    if not isinstance(meta, dict) or not isinstance(spec, dict):
        raise Unsupported("podSecurity: the pod's metadata or spec is not an object")
    if spec.get("hostUsers") is False:
        raise Unsupported(
            "podSecurity: user-namespace pods (hostUsers: false) are relaxed version by version"
        )
    if _get(spec, "os", "name") not in (None, "linux"):
        raise Unsupported("podSecurity: non-Linux pods are exempt from some checks version by version")
    failed = {} if level == "privileged" else evaluate_checks(str(level), meta, spec)
    for exclude in pod_security.get("exclude") or []:
        if not isinstance(exclude, dict):
            raise Unsupported("podSecurity: an exclude entry is not an object")
        if exclude.get("restrictedField") or exclude.get("values"):
            raise Unsupported("podSecurity exclude with restrictedField/values is not supported")
        _check_exclude_shape(exclude, str(level))
        ex_meta, ex_spec, by_container = _exclusion_pod(exclude, meta, spec)
        exempted = evaluate_checks(str(level), ex_meta, ex_spec)
        _exempt(failed, exempted, str(exclude.get("controlName", "")), by_container)
    if not failed:
        return "pass", f"Validation rule '{rule_name}' passed."
    if set(failed) & NO_FIELD_ERRORS:
        raise Unsupported(
            "podSecurity: Kyverno cannot report AppArmor or host probe failures (no field errors)"
        )
    checks = ", ".join(sorted(failed))
    return "fail", (
        f"Validation rule '{rule_name}' failed. It violates PodSecurity \"{level}:{version}\": {checks}"
    )
