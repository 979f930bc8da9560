"""Mobile-VTON Studio: the PySide6 desktop app (DESIGN §8).

Layout: ``*_view.py`` modules hold widgets and layout only; the controllers
(``workspace.py``, ``board.py``, ``session.py``) and the Qt-free stores (``settings.py``,
``history.py``, ``bundles.py``) hold the behaviour and are tested without pixels.
Nothing here imports torch: dev-mode tools run training as a subprocess.
"""
