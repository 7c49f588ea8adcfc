"""secops-bot: security alerts → small, guarded, human-approved GitOps changes."""

__version__ = "0.1.0"
