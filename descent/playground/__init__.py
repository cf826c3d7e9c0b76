"""descent's playground: a page in the browser where a network learns on descent's own
engine (``descent playground``; the server needs ``pip install 'descent[playground]'``).

A face over the library, one concern a module: ``settings`` (every setting and its
limits), ``datasets`` and ``features`` (the points and what the network sees of them),
``network`` and ``training`` (what ``descent.train`` is given), ``views`` (what the page
draws), ``explanation`` (one update written out by ``descent.explain``), ``export``
(model files, the Python script), ``commands`` and ``session`` (one page's state and
its worker thread), ``server`` (Starlette and uvicorn) and ``static/`` (the page).

``inputs_for(model, points)`` gives a model saved from the page what it takes.
"""

from descent.playground.features import inputs_for

__all__ = ["inputs_for"]
