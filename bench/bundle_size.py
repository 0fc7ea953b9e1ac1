"""Frontend bundle size: ours (production build) next to rucio-jupyterlab's prebuilt labextension.

Both are measured in the same run: our `npm run build:prod` output and the labextension shipped
in the newest rucio-jupyterlab sdist on PyPI (pip download, no install). Counted: the JavaScript
the browser may load (static/*.js), raw and gzip-compressed; licence texts and maps are not code.
"""

import gzip
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / "python-shim" / "jupyterlab_datalake" / "labextension" / "static"


def js_sizes(static_dir: Path) -> tuple[int, int]:
    files = [p for p in static_dir.glob("*.js") if p.is_file()]
    if not files:
        raise RuntimeError(f"no JavaScript under {static_dir}: was the extension built?")
    raw = sum(p.stat().st_size for p in files)
    compressed = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    return raw, compressed


def competitor_static(workdir: Path) -> tuple[str, Path]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            # pip reads the sdist's metadata; its build tools (hatch-jupyter-builder...) are ours.
            "--no-build-isolation",
            "--no-binary",
            ":all:",
            "-d",
            str(workdir),
            "rucio-jupyterlab",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sdist = next(workdir.glob("rucio_jupyterlab-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(workdir, filter="data")
    static = next(workdir.glob("rucio_jupyterlab-*/rucio_jupyterlab/labextension/static"))
    return sdist.name.removesuffix(".tar.gz"), static


def measure(build: bool = True) -> dict[str, object]:
    if build:
        subprocess.run(
            ["npm", "run", "--silent", "build:prod"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    ours_raw, ours_gz = js_sizes(OURS)
    with tempfile.TemporaryDirectory() as tmp:
        name, static = competitor_static(Path(tmp))
        theirs_raw, theirs_gz = js_sizes(static)
    return {
        "competitor": name,
        "ours_raw": ours_raw,
        "ours_gzip": ours_gz,
        "theirs_raw": theirs_raw,
        "theirs_gzip": theirs_gz,
        "ratio_raw": ours_raw / theirs_raw,
        "ratio_gzip": ours_gz / theirs_gz,
    }


if __name__ == "__main__":
    print(measure())
