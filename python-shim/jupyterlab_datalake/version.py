"""This package's version: the one the build writes (``_version.py``, from package.json), else a
development marker. Read by the server for the version handshake, so it imports nothing."""

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0.dev0"
