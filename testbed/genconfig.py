"""Write the testbed's Rucio configuration files (server, alembic, two client configs).

Run with the testbed venv's Python: `genconfig.py TESTBED_DIR PORT`.
Passwords are generated on the first run and read back from the existing 0600 files
afterwards, so re-running keeps the DB identities and the client configs in step.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import secrets
import sys
from pathlib import Path

import broker
import oidc_config

ALICE = "alice"
ROOT_IDENTITY = "root"


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (it holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def existing_password(path: Path) -> str | None:
    """The password in an existing client config, so a re-run does not rotate it."""
    if not path.exists():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser.get("client", "password", fallback=None)


def client_cfg(url: str, username: str, password: str, account: str, tokens: Path) -> str:
    # request_retries=1: the testbed is local, a failure should surface at once.
    # auth_token_file_path: tokens live with the testbed (isolated testbeds do not share
    # a per-user cache in /tmp, and reset.sh removes them with the DB they belong to).
    return (
        "[client]\n"
        f"rucio_host = {url}\n"
        f"auth_host = {url}\n"
        "auth_type = userpass\n"
        f"username = {username}\n"
        f"password = {password}\n"
        f"account = {account}\n"
        "request_retries = 1\n"
        f"auth_token_file_path = {tokens / account}.token\n"
    )


def server_cfg(tb: Path, db_url: str, root_pwd: str, mail_templates: Path) -> str:
    return f"""\
[common]
loglevel = INFO
mailtemplatedir = {mail_templates}

[database]
default = {db_url}
echo = 0
pool_reset_on_return = rollback

[alembic]
cfg = {tb}/etc/alembic.ini

[bootstrap]
userpass_identity = {ROOT_IDENTITY}
userpass_pwd = {root_pwd}
userpass_email = root@localhost
x509_identity =
x509_email =
gss_identity =
gss_email =
ssh_identity =
ssh_email =

[policy]
permission = generic
schema = generic
# Generic policy plus "an account may shorten/extend or delete its own rules" (testbed/).
package = rucio_testbed_policy
lfn2pfn_algorithm_default = identity
# Its reverse (rucio_testbed_policy): a PFN declared suspicious names the right scope.
pfn2lfn = identity
support = root@localhost
support_rucio = https://github.com/rucio/rucio/issues/

[conveyor]
# FTS cannot run here: testbed/localcopy.py copies the bytes between the POSIX RSEs.
transfertool = localcopy
scheme = file

[cache]
# Nothing listens here, so Rucio disables memcached: a shared memcached would keep
# stale entries across testbed resets and between isolated testbeds.
url = 127.0.0.1:1

[monitor]
enable_metrics = False
"""


def alembic_ini(db_url: str, migrate_repo: Path) -> str:
    # Rucio's alembic env.py calls fileConfig(), so the logging sections are required.
    return f"""\
[alembic]
script_location = {migrate_repo}
sqlalchemy.url = {db_url}

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %(levelname)s %(message)s
"""


def main() -> None:
    tb = Path(sys.argv[1]).resolve()
    port = int(sys.argv[2])
    url = f"http://127.0.0.1:{port}"

    spec = importlib.util.find_spec("rucio")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("rucio is not installed in this Python")
    rucio_pkg = Path(next(iter(spec.submodule_search_locations)))
    migrate_repo = rucio_pkg / "db" / "sqla" / "migrate_repo"
    mail_templates = Path(sys.prefix) / "rucio" / "etc" / "mail_templates"

    # timeout=30: the server and the daemon loop share one SQLite file; wait, do not fail.
    db_url = f"sqlite:///{tb}/var/rucio.db?timeout=30"

    alice_cfg = tb / "rucio.cfg"
    root_cfg = tb / "rucio-root.cfg"
    alice_pwd = existing_password(alice_cfg) or secrets.token_urlsafe(18)
    root_pwd = existing_password(root_cfg) or secrets.token_urlsafe(18)

    (tb / "var").mkdir(parents=True, exist_ok=True)
    # [oidc]: Rucio validates the issuer's tokens (oidc_config.py); hermes → ActiveMQ (broker.py).
    oidc = oidc_config.rucio_oidc(tb)
    server_text = (
        server_cfg(tb, db_url, root_pwd, mail_templates) + oidc.section + broker.hermes_sections(tb)
    )
    write_private(tb / "etc" / "server.cfg", server_text)
    write_private(oidc.idpsecrets_path, oidc.idpsecrets)
    write_private(tb / "etc" / "alembic.ini", alembic_ini(db_url, migrate_repo))
    tokens = tb / "tokens"
    tokens.mkdir(mode=0o700, exist_ok=True)
    write_private(alice_cfg, client_cfg(url, ALICE, alice_pwd, ALICE, tokens))
    write_private(root_cfg, client_cfg(url, ROOT_IDENTITY, root_pwd, "root", tokens))


if __name__ == "__main__":
    main()
