"""What runs in a notebook's kernel: the ``Datalake`` API, ``%datalake`` magics, the comm target."""
