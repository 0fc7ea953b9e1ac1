# Installed by jupyterlab-datalake into <environment>/etc/ipython, where IPython reads the
# configuration of every kernel of that environment: the %datalake magics load by themselves, in
# JupyterLab and in a batch run (papermill, nbclient) alike, so a notebook runs unchanged in both.
# append(): the user's own configuration keeps its extensions. Delete this file to opt out.
c.InteractiveShellApp.extensions.append("jupyterlab_datalake")  # noqa: F821 (c: IPython's config)
