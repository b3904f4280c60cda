"""Interactive playground: watch PINN and BiLO train live in the browser, on the C++ core.

``python -m pinnbilo playground`` starts a local server (127.0.0.1 only) and prints the page's
address; :func:`start` runs one on a background thread. The page's HTML, script and style sheet
ship in ``static/`` and need no network.
"""

from .server import PlaygroundServer, serve, start

__all__ = ["PlaygroundServer", "serve", "start"]
