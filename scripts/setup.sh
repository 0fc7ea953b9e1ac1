#!/usr/bin/env bash
# Idempotent set-up of everything `make demo` and `make test` need on a fresh Debian machine.
# Each step is skipped when its stamp (a hash of the files that drive it) is current, so a second run
# takes seconds. WITH_UI=0 skips Chromium and the ui-tests packages; WITH_HUB=0 skips JupyterHub and
# configurable-http-proxy (make hub-demo and the hub tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=$ROOT/.stamps
mkdir -p "$STAMPS"
WITH_UI=${WITH_UI:-1}
WITH_HUB=${WITH_HUB:-1}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "$WITH_UI" != 0 ] && [ ! -x /usr/bin/chromium ]; then
  log "Installing Debian's Chromium for the UI tests"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q chromium
fi

# Debian's ActiveMQ (brings OpenJDK) for the testbed's Rucio events. Optional: without it the
# testbed runs with events off and says so.
if [ "${WITH_EVENTS:-1}" != 0 ] && [ ! -f /usr/share/activemq/bin/activemq.jar ]; then
  log "Installing Debian's ActiveMQ for the testbed's events"
  { as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q activemq; } \
    || echo "ActiveMQ could not be installed: the testbed will run with events off" >&2
fi

command -v node >/dev/null || { echo "Node.js (>= 20) and npm are required: apt-get install nodejs npm" >&2; exit 1; }

h=$(hash_of package.json package-lock.json)
if ! stamp_ok npm "$h" || [ ! -d node_modules ]; then
  log "npm install (root)"
  # `npm install`, not `npm ci`: the lockfile lacks rspack bindings for other platforms (toolchain.md §5).
  npm install --no-audit --no-fund --loglevel=error
  echo "$h" > "$STAMPS/npm"
fi

h=$(hash_of python-shim/pyproject.toml scripts/setup.sh)
if ! stamp_ok venv "$h" || [ ! -x .venv/bin/python ]; then
  log "Python virtualenv .venv (JupyterLab 4.6.4 + the shim, editable)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # The editable install writes the labextension's shared data (install.json) through the link made
  # below into the build output, which the wheel then carries twice: drop the link, it comes back,
  # and any copy an install by hand already wrote there.
  if [ -L .venv/share/jupyter/labextensions/jupyterlab-datalake ]; then
    rm .venv/share/jupyter/labextensions/jupyterlab-datalake
  fi
  rm -f python-shim/jupyterlab_datalake/labextension/install.json
  .venv/bin/pip install -q 'jupyterlab==4.6.4' 'hatchling>=1.5' 'hatch-nodejs-version>=0.3.2' \
    'hatch-jupyter-builder>=0.5' 'jupyter-builder>=1.2,<2' editables
  # Build hooks run in this venv (no isolation): hatchling and the builders are installed above.
  PATH=$ROOT/.venv/bin:$PATH .venv/bin/pip install -q --no-build-isolation -e "python-shim[dev,test]"
  echo "$h" > "$STAMPS/venv"
fi

h=$( (find src style schema -type f -print0 | sort -z | xargs -0 cat; cat package.json tsconfig.json) | sha256sum | cut -c1-16)
if ! stamp_ok build "$h" || [ ! -f python-shim/jupyterlab_datalake/labextension/package.json ]; then
  log "Building the labextension"
  PATH=$ROOT/.venv/bin:$PATH npm run build
  echo "$h" > "$STAMPS/build"
fi

if [ "$WITH_HUB" != 0 ]; then
  h=$(hash_of testbed/hub/requirements.txt testbed/hub/package.json testbed/hub/package-lock.json)
  if ! stamp_ok hub "$h" || [ ! -x .venv/bin/jupyterhub ] || [ ! -d testbed/hub/node_modules ]; then
    log "JupyterHub into .venv and configurable-http-proxy (testbed/hub, pinned)"
    .venv/bin/pip install -q -r testbed/hub/requirements.txt
    (cd testbed/hub && npm ci --no-audit --no-fund --loglevel=error)
    echo "$h" > "$STAMPS/hub"
  fi
fi

# Point the virtualenv's labextension directory at the build output (what `jupyter labextension develop` does).
ext_dir=.venv/share/jupyter/labextensions/jupyterlab-datalake
if [ "$(readlink "$ext_dir" 2>/dev/null)" != "$ROOT/python-shim/jupyterlab_datalake/labextension" ]; then
  mkdir -p "$(dirname "$ext_dir")"
  rm -rf "$ext_dir"
  ln -s "$ROOT/python-shim/jupyterlab_datalake/labextension" "$ext_dir"
fi
server_cfg=.venv/etc/jupyter/jupyter_server_config.d/jupyterlab_datalake.json
if [ ! -f "$server_cfg" ]; then
  mkdir -p "$(dirname "$server_cfg")"
  cp python-shim/jupyter-config/server-config/jupyterlab_datalake.json "$server_cfg"
fi
# What the wheel puts in <prefix>/etc/ipython (an editable install does not): every kernel of the
# environment loads the magics.
kernel_cfg=.venv/etc/ipython/ipython_kernel_config.py
if ! cmp -s python-shim/jupyter-config/ipython-config/ipython_kernel_config.py "$kernel_cfg"; then
  mkdir -p "$(dirname "$kernel_cfg")"
  cp python-shim/jupyter-config/ipython-config/ipython_kernel_config.py "$kernel_cfg"
fi

if [ "$WITH_UI" != 0 ]; then
  h=$(hash_of ui-tests/package.json ui-tests/package-lock.json)
  if ! stamp_ok ui "$h" || [ ! -d ui-tests/node_modules ]; then
    log "npm ci (ui-tests)"
    (cd ui-tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    echo "$h" > "$STAMPS/ui"
  fi
fi

# Fail here, not in a test, when the extension is not installed the way users get it.
exts=$(.venv/bin/jupyter server extension list 2>&1)
grep -q 'jupyterlab_datalake.*OK' <<<"$exts" || { echo "$exts" >&2; echo "server extension not enabled" >&2; exit 1; }
labexts=$(.venv/bin/jupyter labextension list 2>&1)
grep -q 'jupyterlab-datalake.*enabled.*OK' <<<"$labexts" || { echo "$labexts" >&2; echo "labextension missing" >&2; exit 1; }
log "Set-up complete"
