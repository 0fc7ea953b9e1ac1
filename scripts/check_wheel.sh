#!/usr/bin/env bash
# The wheel is what users install: build it, install it into a fresh virtualenv (no Node.js there)
# and check that JupyterLab sees the prebuilt labextension and the enabled server extension.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip wheel -q --no-deps ./python-shim -w "$work/dist"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/*.whl 'jupyterlab==4.6.4'
labexts=$("$work/venv/bin/jupyter" labextension list 2>&1)
grep -q 'jupyterlab-datalake v.*enabled.*OK.*(python, jupyterlab_datalake)' <<<"$labexts" \
  || { echo "$labexts"; echo "the wheel's labextension is missing"; exit 1; }
serverexts=$("$work/venv/bin/jupyter" server extension list 2>&1)
grep -q 'jupyterlab_datalake .*OK' <<<"$serverexts" \
  || { echo "$serverexts"; echo "the wheel does not enable the server extension"; exit 1; }
# Every IPython kernel of the environment loads the magics (etc/ipython/ipython_kernel_config.py):
# a batch run of a notebook made by dragging a DID needs no %load_ext.
cat > "$work/magic.ipynb" <<'NB'
{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [],
  "source": ["%datalake"]}],
 "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
 "nbformat": 4, "nbformat_minor": 5}
NB
(cd "$work" && env -u PYTHONSTARTUP "$work/venv/bin/jupyter" nbconvert --to notebook --execute \
  --output ran.ipynb magic.ipynb >/dev/null 2>&1) \
  || { echo "a kernel of the wheel's environment cannot run %datalake"; exit 1; }
grep -q 'Usage: %datalake VERB' "$work/ran.ipynb" \
  || { cat "$work/ran.ipynb"; echo "the wheel's kernels do not load the magics"; exit 1; }
echo "wheel OK: $(basename "$work"/dist/*.whl)"
