"""symgrad: symbol-to-symbol differentiation.

The package is a pipeline, one module per stage::

    parse -> graph -> backward -> rewrite -> lower / export / render -> train

Importing the package is cheap: sympy and numpy load only when a stage that
needs them is imported.
"""

__version__ = "0.1.0"
