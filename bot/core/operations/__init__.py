"""Operation families: each module holds one family's guard checks (the operation models share one
discriminated union in :mod:`bot.core.edits`; applying them to text lives in :mod:`bot.yaml_edit`).

- ``blocklist``: ``add_cidr`` / ``remove_cidr`` on a block list (addresses, budget, coverage).
- ``data_keys``: ``set_key`` on a ConfigMap data key (per-key value grammars).
- ``images``: ``set_image`` on one image reference of a listed workload file.

The generic checks every change passes (files listed, paths, YAML valid, diff size) are in
:mod:`bot.core.guard`; the exact-edit proof in :mod:`bot.core.fidelity`.
"""
