"""A PostgreSQL backend that starts (or joins) the embedded server at the first
connection, then behaves exactly as Django's own PostgreSQL backend."""

from django.db.backends.postgresql import base as postgresql

from . import connection_settings


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def get_connection_params(self):
        settings = self.settings_dict
        if not settings.get("HOST"):
            # The database named in the settings is created if missing (the test
            # database, under another name, is created by Django's test runner).
            own = settings["NAME"] if settings["NAME"] == settings.get("EMBEDDED_NAME") else None
            settings.update(connection_settings(settings["EMBEDDED_DATA_DIR"], own))
        return super().get_connection_params()
