"""The Jupyter server extension (the shim): configuration, REST routes, the kernels' environment."""
