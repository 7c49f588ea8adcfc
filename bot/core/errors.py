"""The exception tree. Exceptions never log or act; the edges (CLI, Slack error handler, tool wrappers)
catch them and turn them into a message that says what to do.

    SecopsError
    ├── ConfigError          a setting is missing or malformed (names the variable)
    ├── InputError           bad input from outside: the user can fix the file
    │   ├── InventoryError   the CMDB file is unreadable or breaks its contract
    │   ├── OperationError   an edit operation is unknown, incomplete or cannot apply
    │   └── DocumentError    a GitOps file is missing, not YAML, or not one ConfigMap
    ├── StorageError         the bot's own storage cannot be written (disk full, read-only, permissions):
    │                        ``.path`` names the file, ``.reason`` the cause; retry once there is room
    ├── AuditError           the audit chain is broken or cannot be written
    │   └── AuditStorageError    the audit log cannot be written (also a StorageError)
    ├── FixStoreError        the memory of past fixes (Chroma) is unreachable or unusable
    ├── ModelError           a language model is unreachable, too slow, or answered unusably
    ├── PublishError         git or GitHub refused or failed while publishing (text is redacted)
    ├── SourceError          a pulled source (the Wazuh indexer, Argo CD) refused or failed: the text names
    │                        the call and what to check (credentials, URL, TLS); never a secret
    └── StateError           the state store is unusable
        └── StateStorageError    the state store or the data directory cannot be written (also a StorageError)

A ``StorageError`` is transient: the bot's decisions so far are durable (or were never made), so a caller
that keeps running (``serve``) reports it, stays unhealthy and retries later; the CLI exits 2 with its text.
"""

from __future__ import annotations


class SecopsError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(SecopsError):
    """A setting is missing or malformed."""


class InputError(SecopsError):
    """Input from outside the bot is unusable."""


class InventoryError(InputError):
    """The inventory (CMDB) cannot be read or breaks its contract."""


class OperationError(InputError):
    """An edit operation is unknown, malformed, or cannot be applied."""


class DocumentError(InputError):
    """A GitOps file is missing, not valid YAML, or not a single ConfigMap."""


class StorageError(SecopsError):
    """A file or database the bot writes cannot be written; the text names the path and the cause."""

    def __init__(self, message: str, *, path: str, reason: str) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class AuditError(SecopsError):
    """The audit log cannot be written or its chain is broken."""


class AuditStorageError(AuditError, StorageError):
    """The audit log (or a file beside it) cannot be written: disk full, read-only, permissions."""


class ModelError(SecopsError):
    """A language model (Ollama) is unreachable, timed out, or answered unusably."""


class FixStoreError(SecopsError):
    """The memory of past fixes (Chroma) cannot be used; dedup falls back to exact effects."""


class PublishError(SecopsError):
    """Git or GitHub refused or failed while publishing an approved change; the text names the step."""


class SourceError(SecopsError):
    """A source the bot pulls from (the Wazuh indexer, Argo CD) refused or failed; the text names the call."""


class StateError(SecopsError):
    """The state store cannot be used."""


class StateStorageError(StateError, StorageError):
    """The state store or the data directory cannot be written (SQLite: "database or disk is full")."""
