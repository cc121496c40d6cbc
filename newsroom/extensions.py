"""PostgreSQL extensions the project requires, created by ``migrate``."""

from django.contrib.postgres.operations import CreateExtension
from django.db import DatabaseError


class ExtensionUnavailable(DatabaseError):
    """``migrate`` could not create a required extension; says what to do."""


class RequireExtension(CreateExtension):
    """``CREATE EXTENSION IF NOT EXISTS``, failing with a message an operator
    can act on. unaccent and pg_trgm ship with PostgreSQL (contrib: Debian's
    postgresql-NN package, the embedded server, every managed service) and are
    trusted since PostgreSQL 13: the database owner may create them."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        try:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        except DatabaseError as error:
            raise ExtensionUnavailable(
                f"The PostgreSQL extension {self.name!r} is required and could not be "
                f"created ({str(error).strip()}). Install PostgreSQL's contrib "
                f"extensions on the database server, then run migrate as the owner of "
                f"the database, or have an administrator run "
                f"'CREATE EXTENSION IF NOT EXISTS {self.name};' in it first."
            ) from error
