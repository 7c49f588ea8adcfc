"""Reading the inventory (CMDB) file. Read-only: the bot never writes the inventory."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.core.errors import InventoryError
from bot.core.inventory import Inventory, inventory_from_data


def load_inventory(path: str | Path) -> Inventory:
    """Load and validate the inventory YAML, with a message naming the file and the bad entry."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{p}: inventory file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{p}: cannot read the inventory ({exc.__class__.__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InventoryError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return inventory_from_data(data, source=str(p))
