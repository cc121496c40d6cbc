"""Settings package.

``development`` is the default for ``manage.py``; ``production`` is the default for
the WSGI/ASGI entry points; ``test`` is used by pytest. All of them read the
environment (see ``.env.example``).
"""
