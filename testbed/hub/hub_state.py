"""The hub's generated secrets, created on first start and kept (mode 0600).

- `<testbed>/hub-users.json`: `{"alice": "<password>", "bob": "<password>"}`, the passwords of the
  hub's users (what an operator would otherwise get from an IdP);
- `<testbed>/hub/crypt-key`: the key that encrypts auth_state in the hub's database
  (`JUPYTERHUB_CRYPT_KEY`, 32 random bytes as hex).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def create_private(path: Path, text: str) -> None:
    """Write `text` to a new file readable by its owner only; keep an existing one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(text)


def ensure_users_file(path: Path, users: tuple[str, ...]) -> dict[str, str]:
    create_private(path, json.dumps({u: secrets.token_urlsafe(12) for u in users}, indent=2))
    passwords = json.loads(path.read_text())
    missing = [u for u in users if u not in passwords]
    if missing:
        raise SystemExit(f"{path} lacks {', '.join(missing)}: delete it to generate all passwords")
    return passwords


def ensure_crypt_key(path: Path) -> str:
    create_private(path, secrets.token_hex(32) + "\n")
    return path.read_text().strip()
