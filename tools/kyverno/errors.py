"""Exceptions of the Kyverno evaluator.

::

    KyvernoError                 base; never raised itself
    ├── Unsupported              the policy uses a feature outside what we implement (report, never guess)
    ├── EvalError                evaluating a rule failed the way Kyverno's engine fails (rule result: error)
    │   └── UnknownKey           JMESPath looked up a map key that does not exist (kyverno/go-jmespath)
    └── InputError               a policy, resource, values or test file is unreadable or malformed

They carry a message and nothing else; the CLI and the test runner turn them into results or messages.
"""

from __future__ import annotations


class KyvernoError(Exception):
    """Base of the evaluator's exceptions."""


class Unsupported(KyvernoError):
    """A construct we deliberately do not evaluate (CEL, mutate, unmocked lookups, time functions...)."""


class EvalError(KyvernoError):
    """An evaluation error that Kyverno itself reports as a rule ``error``."""


class UnknownKey(EvalError):
    """``Unknown key "x" in path``: a missing map key outside the places where go-jmespath swallows it."""

    def __init__(self, key: str) -> None:
        super().__init__(f'Unknown key "{key}" in path')
        self.key = key


class InputError(KyvernoError):
    """A file the user gave us cannot be read as what it should be."""
