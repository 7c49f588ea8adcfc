"""Model families, from /api/show details or the name; a same-family pair is refused at start-up."""

from __future__ import annotations

import pytest

from agents.family import family_from_name, model_family, require_cross_family
from bot.core.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("qwen3:30b-a3b-instruct-2507-q4_K_M", "qwen"),
        ("qwen2.5-coder:0.5b", "qwen"),
        ("gemma3:12b", "gemma"),
        ("library/llama3.1:8b", "llama"),
        ("codellama:7b", "llama"),
        ("hf.co/bartowski/Mistral-7B-GGUF:Q4_K_M", "mistral"),
        ("mixtral:8x7b", "mistral"),
        ("qwq:32b", "qwen"),
    ],
)
def test_family_from_name(name, family):
    assert family_from_name(name) == family


def test_details_win_over_the_name():
    fam = model_family("my-fixer:latest", {"family": "qwen3moe", "families": ["qwen3moe"]})
    assert (fam.family, fam.source) == ("qwen", "api/show")


def test_no_details_falls_back_to_the_name():
    assert model_family("gemma3:12b", None).source == "name"


def test_same_family_pair_is_refused_with_the_reason():
    with pytest.raises(ConfigError) as exc:
        require_cross_family(
            model_family("qwen3:30b", {"family": "qwen3moe"}), model_family("qwen2.5:14b", None)
        )
    assert str(exc.value).startswith(
        "SECOPS_REVIEWER_MODEL 'qwen2.5:14b' is from the same family (qwen) as SECOPS_FIXER_MODEL 'qwen3:30b' "
        "(fixer family from api/show, reviewer family from name)."
    )


def test_cross_family_pair_is_accepted():
    require_cross_family(model_family("qwen3:30b", None), model_family("gemma3:12b", None))
