"""Source readers: every input the bot pulls, one module per source, each turning hostile input into
:class:`bot.core.alert.Alert` or :class:`bot.core.findings.Finding` values with malformed input counted and
reported, never fatal.

- ``wazuh``: Wazuh ``alerts.json`` (4.x and 5.x lines).
- ``trivy``: ``trivy image``/``trivy k8s``/``trivy config`` JSON reports.
- ``trivy_operator``: trivy-operator ``VulnerabilityReport`` and ``ConfigAuditReport`` objects.
"""
