"""The dedup decision rule: exact effects first, similarity only in scope, rejections expire."""

from __future__ import annotations

from bot.core.dedup import DedupPolicy, Neighbour, PastFix, decide
from bot.core.effects import Effect

DAY = 86400.0
NOW = 1_800_000_000.0
POLICY = DedupPolicy(threshold=0.9, show_threshold=0.75, reject_period=30 * DAY)


def _effect(
    value: str = "91.240.118.172/32", server: str = "web-01", action: str = "add", key: str = "block-cidrs"
):
    return Effect(
        server=server, file=f"clusters/prod/{server}/ingress.yaml", kind="ingress-nginx",
        resource="ConfigMap ingress-nginx/ingress-nginx-controller", key=key, action=action, value=value,
    )  # fmt: skip


def _fix(fix_id="p-1", outcome="merged", at=NOW - DAY, effects=(), **kw) -> PastFix:
    return PastFix(
        fix_id=fix_id, outcome=outcome, at=at, pr_url=kw.pop("pr_url", "https://github.com/o/r/pull/12"),
        scopes=tuple(e.scope for e in effects), addresses=tuple(e.value for e in effects if e.is_address), **kw,
    )  # fmt: skip


def test_every_effect_merged_is_suppressed_exactly():
    e = _effect()
    v = decide([e], {e.id: [_fix(effects=[e])]}, [], NOW, POLICY)
    assert (v.action, v.basis, v.fix.fix_id) == ("suppressed", "exact", "p-1")


def test_superset_of_a_merged_fix_is_new():
    a, b = _effect(), _effect("203.0.113.9/32")
    v = decide([a, b], {a.id: [_fix(effects=[a])]}, [], NOW, POLICY)
    assert v.action == "new" and [r.fix.fix_id for r in v.related] == ["p-1"]


def test_subset_of_a_merged_fix_is_suppressed():
    a, b = _effect(), _effect("203.0.113.9/32")
    v = decide([a], {a.id: [_fix(effects=[a, b])]}, [], NOW, POLICY)
    assert v.action == "suppressed"


def test_rejection_binds_within_the_period_only():
    e = _effect()
    fix = _fix(outcome="rejected", at=NOW - 29 * DAY, by="U1", reason="our CDN", pr_url=None)
    assert decide([e], {e.id: [fix]}, [], NOW, POLICY).fix == fix
    assert decide([e], {e.id: [fix]}, [], NOW + 2 * DAY, POLICY).action == "new"


def test_similar_fix_never_suppresses_a_new_address():
    old, new = _effect("203.0.113.9/32"), _effect()
    v = decide([new], {}, [Neighbour(fix=_fix(effects=[old]), similarity=0.9998)], NOW, POLICY)
    assert v.action == "new" and v.related == ()


SNIPPET = "more_clear_headers Server; more_clear_headers X-Powered-By; add_header X-Frame-Options DENY;"


def test_similar_long_value_in_scope_is_suppressed_above_threshold():
    old = _effect(SNIPPET, action="set", key="server-snippet")
    new = _effect(SNIPPET.replace("; ", ";\n"), action="set", key="server-snippet")
    near = Neighbour(fix=_fix(effects=[old]), similarity=0.95)
    v = decide([new], {}, [near], NOW, POLICY)
    assert (v.action, v.basis, v.similarity) == ("suppressed", "similar", 0.95)


def test_similar_short_value_is_never_suppressed():
    old = _effect("TLSv1.2", action="set", key="ssl-protocols")
    new = _effect("TLSv1.3", action="set", key="ssl-protocols")
    v = decide([new], {}, [Neighbour(fix=_fix(effects=[old]), similarity=0.994)], NOW, POLICY)
    assert v.action == "new"


def test_similar_set_key_below_threshold_is_new_and_shown():
    old = _effect("TLSv1.2", action="set", key="ssl-protocols")
    new = _effect("TLSv1.3", action="set", key="ssl-protocols")
    v = decide([new], {}, [Neighbour(fix=_fix(effects=[old]), similarity=0.87)], NOW, POLICY)
    assert v.action == "new" and v.related[0].similarity == 0.87


def test_similar_long_value_on_another_server_is_new():
    old = _effect(SNIPPET, action="set", key="server-snippet", server="web-02")
    new = _effect(SNIPPET, action="set", key="server-snippet")
    v = decide([new], {}, [Neighbour(fix=_fix(effects=[old]), similarity=1.0)], NOW, POLICY)
    assert v.action == "new"


def test_mixed_merged_and_rejected_cover_reports_the_rejection():
    a, b = _effect(), _effect("203.0.113.9/32")
    merged = _fix(effects=[a])
    rejected = _fix("p-2", "rejected", at=NOW - DAY, effects=[b], reason="partner", pr_url=None)
    v = decide([a, b], {a.id: [merged], b.id: [rejected]}, [], NOW, POLICY)
    assert v.fix == rejected


def test_repeat_of_pending_proposal_is_folded():
    e = _effect()
    v = decide([e], {}, [], NOW, POLICY, pending={e.id: ["p-old", "p-new"]}, own_id="p-new")
    assert (v.action, v.fold_into) == ("fold", "p-old")


def test_own_pending_record_is_not_a_fold_target():
    e = _effect()
    assert decide([e], {}, [], NOW, POLICY, pending={e.id: ["p-new"]}, own_id="p-new").action == "new"


def test_same_address_elsewhere_is_shown_not_suppressed():
    e = _effect()
    other = _fix("p-9", effects=[_effect(server="web-02")])
    v = decide([e], {}, [], NOW, POLICY, same_address=[other])
    assert v.action == "new" and v.related[0].fix.fix_id == "p-9"
