"""Fast bulk writes on PostgreSQL through COPY: inserts that get their ids back
(``copy_insert``), plain rows (``copy_rows``, ``copy_rows_with_ids``) and upserts
(``copy_upsert``).

Django's ``bulk_create`` quotes every value client-side, which dominates when rows
carry kilobytes of JSON (pings, score ledgers). Elsewhere (SQLite) it is used as is.
"""

import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql

M = TypeVar("M", bound=models.Model)

# Column types whose Python value is already what the database takes (the exact classes:
# a subclass may prepare values its own way): Django's per-value preparation costs more
# than the COPY itself on narrow rows.
PLAIN_FIELDS = {
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.FloatField,
    models.DecimalField,
    models.DateTimeField,  # aware datetimes go as they are
    models.ForeignKey,  # its attname holds the id
    models.OneToOneField,
}


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
    for obj, pk in zip(objs, _ids_reserve(model, len(objs)), strict=True):
        obj.pk = pk
    with connection.cursor() as cursor:
        columns = ", ".join(["id", *(f.column for f in fields)])
        values = _values_reader(fields)
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for obj in objs:
                copy.write_row([obj.pk, *values(obj, overrides(obj) if overrides else {})])


def column_values(obj: models.Model, given: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """``obj``'s columns but its id, and their values as COPY or a server-side bound
    statement takes them; ``given`` supplies some by field name (serialised JSON)."""
    fields = [f for f in obj._meta.concrete_fields if not f.primary_key]
    return [f.column for f in fields], _values_reader(fields)(obj, given)


def _values_reader(
    fields: Sequence[models.Field],
) -> Callable[[models.Model, dict[str, Any]], list[Any]]:
    names = [f.name for f in fields]
    readers = [_reader(f) for f in fields]

    def values(obj: models.Model, given: dict[str, Any]) -> list[Any]:
        return [
            given[name] if name in given else read(obj)
            for name, read in zip(names, readers, strict=True)
        ]

    return values


def _ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids from the table's sequence (PostgreSQL), in one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


def copy_rows_with_ids(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """``copy_rows``, returning the new rows' ids in order: for narrow rows that other
    rows of the same transaction point at (a book's first use-case links)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        ids = [obj.pk for obj in _bulk_create(model, names, rows)]
        if not all(ids):
            raise RuntimeError("bulk_create returned no ids (SQLite before 3.35?)")
        return ids
    ids = _ids_reserve(model, len(rows))
    copy_rows(model, ["id", *names], [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
    return ids


def _bulk_create(model: type[M], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[M]:
    """The plain rows as model instances, through ``bulk_create`` (not PostgreSQL)."""
    fields = {f.name: f for f in model._meta.concrete_fields}
    attnames = [fields[n].attname for n in names]
    return model._default_manager.bulk_create(
        [model(**dict(zip(attnames, row, strict=True))) for row in rows]
    )


def copy_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert plain ``rows`` of values for the fields ``names`` — no model instances, no
    ids back: for many narrow rows nobody reads again in this request (checklist ticks)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        _bulk_create(model, names, rows)
        return
    fields = {f.name: f for f in model._meta.concrete_fields}
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(model._meta.db_table),
        columns=sql.SQL(", ").join(sql.Identifier(fields[n].column) for n in names),
    )
    with (
        connection.cursor() as wrapper,
        connection.wrap_database_errors,
        wrapper.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _reader(field: models.Field) -> Callable[[models.Model], Any]:
    """How to read one column's value off an object, decided once per field, not per row."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        stamp, attname = timezone.now(), field.attname  # one moment for the whole insert

        def stamped(obj: models.Model) -> Any:
            setattr(obj, attname, stamp)
            return stamp

        return stamped
    if isinstance(field, models.JSONField):
        attname = field.attname

        def json_text(obj: models.Model) -> str | None:
            value = getattr(obj, attname)
            return None if value is None else orjson.dumps(value).decode()

        return json_text
    if type(field) in PLAIN_FIELDS:  # psycopg adapts these Python values as they are
        return operator.attrgetter(field.attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, field.attname), connection)


def copy_upsert(
    objs: Sequence[M],
    *,
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
    keep_newer: str | None = None,
) -> None:
    """Insert ``objs``, or update the rows they collide with on ``unique_fields``; with
    ``keep_newer``, a stored row whose value in that field is later stays as it is. Of
    several ``objs`` with one key, the last wins.

    On PostgreSQL: one COPY into a scratch table that lives for the transaction, then one
    ``INSERT … SELECT … ON CONFLICT DO UPDATE`` — Django's ``bulk_create`` would quote
    every value of every row client-side first. Elsewhere (SQLite): ``bulk_create``.
    """
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    attname = {f.name: f.attname for f in meta.concrete_fields}
    keys = [attname[n] for n in unique_fields]
    last = {tuple(getattr(o, a) for a in keys): o for o in objs}
    objs = list(last.values())  # ON CONFLICT may touch a row only once per statement
    if connection.vendor != "postgresql":
        if keep_newer:
            objs = _without_older(objs, keys, keep_newer)
        model._default_manager.bulk_create(
            objs, update_conflicts=True, unique_fields=unique_fields, update_fields=update_fields
        )
        return
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    column = {f.name: sql.Identifier(f.column) for f in fields}
    columns = sql.SQL(", ").join(column.values())
    table, scratch = sql.Identifier(meta.db_table), sql.Identifier(f"incoming_{meta.db_table}")
    insert = sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {scratch} "
        "ON CONFLICT ({unique}) DO UPDATE SET {updates}"
    ).format(
        table=table,
        columns=columns,
        scratch=scratch,
        unique=sql.SQL(", ").join(column[n] for n in unique_fields),
        updates=sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=column[n]) for n in update_fields
        ),
    )
    if keep_newer:
        insert += sql.SQL(" WHERE {table}.{c} <= EXCLUDED.{c}").format(
            table=table, c=column[keep_newer]
        )
    values = _values_reader(fields)
    with (
        transaction.atomic(),  # the scratch table is dropped at commit, whatever the caller
        connection.cursor() as wrapper,
        connection.wrap_database_errors,
    ):
        cursor = wrapper.cursor  # psycopg's own: it composes the identifiers safely
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {scratch} ON COMMIT DROP AS "
                "SELECT {columns} FROM {table} WITH NO DATA"
            ).format(scratch=scratch, columns=columns, table=table)
        )
        cursor.execute(sql.SQL("TRUNCATE {scratch}").format(scratch=scratch))
        copy_into = sql.SQL("COPY {scratch} ({columns}) FROM STDIN")
        with cursor.copy(copy_into.format(scratch=scratch, columns=columns)) as copy:
            for obj in objs:
                copy.write_row(values(obj, {}))
        cursor.execute(insert)


def _without_older(objs: Sequence[M], attnames: Sequence[str], newer: str) -> list[M]:
    """``objs`` less those whose stored twin (same ``attnames`` values) already has a
    later ``newer`` value."""
    model = type(objs[0])
    stored = {
        tuple(row[:-1]): row[-1]
        for row in model._default_manager.filter(
            **{f"{a}__in": {getattr(o, a) for o in objs} for a in attnames}
        ).values_list(*attnames, newer)
    }
    return [
        o
        for o in objs
        if stored.get(tuple(getattr(o, a) for a in attnames), getattr(o, newer))
        <= getattr(o, newer)
    ]
