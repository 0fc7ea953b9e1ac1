"""The environment kernels get: the shim URL as a local kernel reaches it."""

from jupyterlab_datalake.server.kernel_env import shim_url


def test_shim_url_is_reachable_from_local_kernels():
    assert shim_url("http", "", 8888, "/") == "http://127.0.0.1:8888/datalake/"
    assert shim_url("http", "0.0.0.0", 8888, "/user/alice/") == (
        "http://127.0.0.1:8888/user/alice/datalake/"
    )
    assert shim_url("https", "10.0.0.5", 443, "/a%40b/") == "https://10.0.0.5:443/a%40b/datalake/"
    assert shim_url("http", "::1", 9000, "/") == "http://[::1]:9000/datalake/"
