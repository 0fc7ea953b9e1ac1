#!/usr/bin/env bash
# Stop the testbed's daemon loop, message broker and API server (by recorded pid; idempotent).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lock_testbed
# Daemons first, so they do not log errors about a vanished server/DB.
stop_pid daemons
stop_pid broker
stop_pid server
stop_pid x509
stop_pid oidc
