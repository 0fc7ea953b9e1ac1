"""``%datalake`` line magic and ``%%datalake need`` cell magic: the notebook face of ``datalake``.

Load with ``%load_ext jupyterlab_datalake``. Every verb returns its value (shown as a table or
list); ``-o NAME`` stores it in ``NAME`` instead. Data lake errors raise ``DatalakeError``: the cell
fails (so a batch run stops there) and IPython shows only its sentence, no traceback.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..errors import shown
from .client import Datalake, datalake
from .lifetime import parse_timeout
from .names import DEFAULT_NAMING, NAMINGS, is_bindable, not_bindable, variable_name

Verb = Callable[..., Any]


def _common(func: Verb) -> Verb:
    """Options every verb takes (listed last in its help)."""
    func = argument(
        "-i", "--instance", metavar="NAME", help="Rucio instance (default: the server's default)."
    )(func)
    return argument(
        "-o", "--output", metavar="NAME", help="Store the result in variable NAME, show nothing."
    )(func)


def _filters(pairs: list[str] | None) -> dict[str, Any] | None:
    """``["datatype=RAW", "run_number.gt=3"]`` → ``{"datatype": "RAW", "run_number.gt": 3}``."""
    if not pairs:
        return None
    filters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"Filter {pair!r} should be KEY=VALUE, e.g. datatype=RAW.")
        filters[key] = _number(value)
    return filters


def _number(text: str) -> int | float | str:
    """``3`` → 3, ``2.5`` → 2.5; anything else (``RAW``, ``nan``, ``1e999``) stays text."""
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if math.isfinite(value):
            return value
    return text


@magics_class
class DatalakeMagics(Magics):
    """Registers ``%datalake`` / ``%%datalake``; ``client`` is the ``Datalake`` they call."""

    def __init__(self, shell: Any, client: Datalake | None = None) -> None:
        super().__init__(shell)
        self.client = client or datalake

    @line_cell_magic
    def datalake(self, line: str, cell: str | None = None) -> Any:
        # The docstring is the help of every verb, built below the class.
        verb, _, rest = line.strip().partition(" ")
        if not verb:
            print(USAGE)
            return None
        handler = self._verbs().get(verb)
        if handler is None:
            raise UsageError(f"Unknown verb {shown(verb)}. {USAGE}")
        if cell is not None and verb != "need":
            raise UsageError("Only `%%datalake need DID ...` is a cell magic; use %datalake here.")
        try:
            args = parse_argstring(handler, rest)
        except ValueError as e:  # shlex: "No closing quotation", "No escaped character"
            raise UsageError(f"%datalake {verb}: {e}; check the quotes in the line.") from None
        if args.output is not None and not is_bindable(args.output):
            raise UsageError(f"-o: {not_bindable(args.output)}")
        try:
            value = handler(args, cell)
        except KeyboardInterrupt:
            # Interrupted is not done: say so, and let the cell fail like any interrupted cell.
            print("Stopped waiting; the staging goes on in the data lake.", file=sys.stderr)
            raise
        if args.output is not None:
            self.shell.user_ns[args.output] = value
            return None
        return value

    def _verbs(self) -> dict[str, Verb]:
        return {name: getattr(self, f"_{name}") for name in VERBS}

    @magic_arguments(name="datalake ls")
    @argument("pattern", help="scope:pattern, with * wildcards, e.g. demo:lofar-*")
    @argument("-t", "--type", default="all", choices=["all", "container", "dataset", "file"])
    @argument(
        "-f",
        "--filter",
        action="append",
        metavar="KEY=VALUE",
        help="Metadata filter, repeatable: datatype=RAW, run_number.gt=3.",
    )
    @argument("-n", "--limit", type=int, default=100, help="At most this many (default 100).")
    @_common
    def _ls(self, args: Any, cell: str | None) -> Any:
        """List DIDs matching a pattern."""
        return self.client.ls(
            args.pattern,
            type=args.type,
            filters=_filters(args.filter),
            limit=args.limit,
            instance=args.instance,
        )

    @magic_arguments(name="datalake info")
    @argument("did", help="scope:name")
    @_common
    def _info(self, args: Any, cell: str | None) -> Any:
        """Type, size, file count, metadata, replicas and what is near the hub."""
        return self.client.info(args.did, instance=args.instance)

    @magic_arguments(name="datalake files")
    @argument("did", help="scope:name")
    @_common
    def _files(self, args: Any, cell: str | None) -> Any:
        """The files of a DID with sizes and checksums."""
        return self.client.files(args.did, instance=args.instance)

    @magic_arguments(name="datalake qos")
    @_common
    def _qos(self, args: Any, cell: str | None) -> Any:
        """The QoS classes and the near-hub RSEs of each."""
        return self.client.qos(instance=args.instance)

    @magic_arguments(name="datalake stage")
    @argument("dids", nargs="+", metavar="DID", help="scope:name, one or more")
    @argument("-q", "--qos", metavar="CLASS", help="QoS class near the hub (see %%datalake qos).")
    @argument("-l", "--lifetime", metavar="T", help="How long to keep it: 7d, 12h, seconds.")
    @argument("--source-qos", metavar="CLASS", help="Copy from replicas of this QoS class.")
    @argument("--start-in", metavar="T", help="Start the transfers later: 2h, 30m.")
    @argument(
        "-w", "--wait", action="store_true", help="Wait, showing progress, until it is there."
    )
    @argument("--timeout", metavar="T", help="With --wait: give up waiting after T (10m, seconds).")
    @_common
    def _stage(self, args: Any, cell: str | None) -> Any:
        """Ask for a copy near the hub; returns a staging handle (.wait(), .progress())."""
        return self.client.stage(
            args.dids,
            qos=args.qos,
            lifetime=args.lifetime,
            source_qos=args.source_qos,
            start_in=args.start_in,
            wait=args.wait,
            timeout=_timeout(args.timeout),
            instance=args.instance,
        )

    @magic_arguments(name="datalake status")
    @argument("targets", nargs="*", metavar="DID|RULE", help="Default: all your stagings.")
    @_common
    def _status(self, args: Any, cell: str | None) -> Any:
        """Your stagings, those of DIDs, or given rule ids."""
        return self.client.status(args.targets or None, instance=args.instance)

    @magic_arguments(name="datalake wait")
    @argument("targets", nargs="+", metavar="DID|RULE")
    @argument("--timeout", metavar="T", help="Give up waiting after T (10m, seconds).")
    @_common
    def _wait(self, args: Any, cell: str | None) -> Any:
        """Wait until stagings are complete, with live progress (files, bytes)."""
        return self.client.wait(
            args.targets, timeout=_timeout(args.timeout), instance=args.instance
        )

    @magic_arguments(name="datalake paths")
    @argument("did", help="scope:name")
    @argument("-q", "--qos", metavar="CLASS", help="Only copies in this QoS class.")
    @argument(
        "--urls",
        action="store_true",
        help="Give the URL of files near the hub on storage this server does not mount.",
    )
    @argument(
        "--verify", action="store_true", help="Check every copy's adler32 against Rucio's first."
    )
    @_common
    def _paths(self, args: Any, cell: str | None) -> Any:
        """Local paths (str) of the files near the hub: p = %datalake paths DID."""
        return self.client.paths(
            args.did, qos=args.qos, urls=args.urls, verify=args.verify, instance=args.instance
        )

    @magic_arguments(name="datalake extend")
    @argument("targets", nargs="+", metavar="DID|RULE")
    @argument("-l", "--lifetime", metavar="T", required=True, help="From now: 7d, 12h, seconds.")
    @_common
    def _extend(self, args: Any, cell: str | None) -> Any:
        """Keep copies near the hub longer."""
        return self.client.extend(args.targets, args.lifetime, instance=args.instance)

    @magic_arguments(name="datalake release")
    @argument("targets", nargs="+", metavar="DID|RULE")
    @_common
    def _release(self, args: Any, cell: str | None) -> Any:
        """Give copies back to the data lake; returns the released rule ids."""
        return self.client.release(args.targets, instance=args.instance)

    @magic_arguments(name="datalake upload")
    @argument("paths", nargs="+", metavar="PATH", help="Files or directories.")
    @argument(
        "--to",
        required=True,
        metavar="SCOPE[:NAME]",
        help="Your scope (files keep their names), or scope:name for one file.",
    )
    @argument("-q", "--qos", default="SAFE", metavar="CLASS", help="QoS class (default SAFE).")
    @argument("--dataset", metavar="SCOPE:NAME", help="Collect the files in this dataset.")
    @argument("-l", "--lifetime", metavar="T", help="Keep the QoS copy for T (default: no end).")
    @_common
    def _upload(self, args: Any, cell: str | None) -> Any:
        """Put files into the data lake with a QoS: written near the hub, checked, registered."""
        return self.client.upload(
            args.paths,
            args.to,
            qos=args.qos,
            dataset=args.dataset,
            lifetime=args.lifetime,
            instance=args.instance,
        )

    @magic_arguments(name="datalake move")
    @argument("targets", nargs="+", metavar="DID|RULE")
    @argument("-q", "--qos", metavar="CLASS", required=True, help="The QoS class to move to.")
    @argument(
        "-w",
        "--wait",
        action="store_true",
        help="Wait until the new copies are there; path lists of the DID then point at them.",
    )
    @argument("--timeout", metavar="T", help="With --wait: give up waiting after T.")
    @_common
    def _move(self, args: Any, cell: str | None) -> Any:
        """Move stagings to another QoS class; the old copies stay until the new are there."""
        return self.client.move(
            args.targets,
            args.qos,
            wait=args.wait,
            timeout=_timeout(args.timeout),
            instance=args.instance,
        )

    @magic_arguments(name="datalake verify")
    @argument("did", help="scope:name")
    @argument(
        "--report",
        action="store_true",
        help="Declare each mismatching copy suspicious to Rucio (with the reason).",
    )
    @_common
    def _verify(self, args: Any, cell: str | None) -> Any:
        """Check every local copy's adler32 against Rucio's; list the mismatches."""
        return self.client.verify(args.did, report=args.report, instance=args.instance)

    @magic_arguments(name="datalake need")
    @argument("dids", nargs="+", metavar="DID", help="scope:name, one or more")
    @argument("-q", "--qos", metavar="CLASS", help="QoS class near the hub.")
    @argument("--as", dest="as_name", metavar="NAME", help="Variable name (one DID only).")
    @argument(
        "--naming",
        choices=NAMINGS,
        default=DEFAULT_NAMING,
        help="How variables are named after DIDs (default: name, as in the panel's settings).",
    )
    @argument("-l", "--lifetime", metavar="T", help="Lifetime of new stagings: 7d, 12h.")
    @argument("--timeout", metavar="T", help="Give up waiting after T.")
    @_common
    def _need(self, args: Any, cell: str | None) -> Any:
        """Stage what is missing, wait, bind each DID's paths to a variable, run the cell.

        The variable is the DID's name made an identifier (demo:lofar-obs-sb000 →
        lofar_obs_sb000; --naming short gives sb000), or --as NAME.
        """
        if args.as_name is not None and len(args.dids) != 1:
            raise UsageError("--as names one variable: give exactly one DID with it.")
        if args.as_name is not None and not is_bindable(args.as_name):
            raise UsageError(f"--as: {not_bindable(args.as_name)}")
        names = (
            [args.as_name] if args.as_name else [variable_name(d, args.naming) for d in args.dids]
        )
        if len(set(names)) < len(names):
            raise UsageError(
                "Two DIDs would bind the same variable: use one cell per DID with --as."
            )
        found = self.client.need(
            args.dids,
            qos=args.qos,
            lifetime=args.lifetime,
            timeout=_timeout(args.timeout),
            instance=args.instance,
        )
        for name, did in zip(names, args.dids, strict=True):
            self.shell.user_ns[name] = found[did]
            print(f"{name} = {len(found[did])} paths of {did}")
        if cell is not None:
            # An error in the body fails this cell too, so a batch run stops there.
            self.shell.run_cell(cell).raise_error()
            return None
        return found


def _timeout(value: str | None) -> float | None:
    """Read before anything is staged, so a mistake costs nothing."""
    return None if value is None else parse_timeout(value)


VERBS = (
    "ls",
    "info",
    "files",
    "qos",
    "stage",
    "status",
    "wait",
    "paths",
    "extend",
    "release",
    "upload",
    "move",
    "verify",
    "need",
)
USAGE = (
    "Usage: %datalake VERB ...  with VERB one of " + ", ".join(VERBS) + ".\n"
    "%datalake? shows the options of each; %%datalake need DID ... stages, waits and runs the cell."
)
DatalakeMagics.datalake.__doc__ = (
    "Find, stage and use Rucio data near the hub.\n\n"
    + USAGE
    + "\nErrors print one sentence that says what to do.\n\n"
    + "\n".join(getattr(DatalakeMagics, f"_{verb}").__doc__ for verb in VERBS)
)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyterlab_datalake``: the magics, and in a kernel the comm target."""
    ipython.register_magics(DatalakeMagics(ipython))
    if getattr(ipython, "kernel", None) is not None:
        from .client import adopt_shim_channel
        from .comm import register

        adopt_shim_channel()
        register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("datalake", None)
    if getattr(ipython, "kernel", None) is not None:
        from .comm import unregister

        unregister(ipython)
