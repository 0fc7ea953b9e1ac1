"""The data lake logic, free of tornado and IPython: the server and headless kernels both run it."""
