"""Fast bulk inserts: on PostgreSQL, ids from the sequence and then one COPY.

Django's ``bulk_create`` quotes every value client-side, which dominates when rows
carry kilobytes of JSON (pings, score ledgers). Elsewhere (SQLite) it is used as is.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def copy_insert(
    objs: Sequence[M], *, overrides: Callable[[M], dict[str, Any]] | None = None
) -> None:
    """Insert ``objs`` and set their ids. ``overrides(obj)`` may give a JSON column's
    already-serialised text (``{"payload": text}``) to store as it is."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = [f.name for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(["id", *(f.column for f in fields)])
        readers = [_reader(f) for f in fields]
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for obj in objs:
                given = overrides(obj) if overrides else {}
                copy.write_row(
                    [
                        obj.pk,
                        *(
                            given[name] if name in given else read(obj)
                            for name, read in zip(names, readers, strict=True)
                        ),
                    ]
                )


def _reader(field: models.Field) -> Callable[[models.Model], Any]:
    """How to read one column's value off an object, decided once per field, not per row."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, add=True)
    if isinstance(field, models.JSONField):
        attname = field.attname

        def json_text(obj: models.Model) -> str | None:
            value = getattr(obj, attname)
            return None if value is None else orjson.dumps(value).decode()

        return json_text
    return lambda obj: field.get_db_prep_save(getattr(obj, field.attname), connection)
