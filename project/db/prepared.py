"""The per-message writes of the live chat, on SQL compiled once per model.

Every lead message and every finished reply inserts a turn and its events and
updates the conversation and the lead: 7–9 statements whose SQL never changes.
Django's ORM builds each one anew (model `save()`, `bulk_create`, the insert
and update compilers, field iteration), ~0.5–1 ms of Python per statement on
these cores against ~0.13 ms in the driver (`bench/bench_message.py
--statements`). At 200 streaming conversations on one web process that Python
competes for the GIL with the streamed tokens (bench/README.md).

Here the statement text is built once per (model, columns) from the models'
metadata and kept; values still go through each field's `get_db_prep_save`,
so encryption, UUIDs, JSON and aware datetimes are stored exactly as the ORM
stores them. Statements run on Django's connection, inside the caller's
transaction, through its cursor wrapper (errors arrive as Django's
`IntegrityError` etc., and `CaptureQueriesContext` sees them).

What this does not do, on purpose: signals (the project has no model signals;
STYLE.md keeps logic out of them), `auto_now` (the chat's models set their
timestamps themselves) and reading back generated keys (none of these callers
needs them). Tenancy: an insert's rows carry their own `agency_id`, and an
update names the agency in its WHERE, as the scoped managers would.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from django.db import DatabaseError, connection, models


@functools.cache
def _insert_plan(model: type[models.Model], vendor: str) -> tuple[str, tuple[models.Field, ...]]:
    # An auto-increment key is the database's to assign; every other concrete column is written.
    fields = tuple(f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField))
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ".format(qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields))
    return sql, fields


@functools.cache
def _row_placeholder(count: int) -> str:
    return "(" + ", ".join(["%s"] * count) + ")"


def instances_insert(instances: Sequence[models.Model]) -> None:
    """INSERT these new, unsaved instances of one model in one statement.

    Preconditions: all of one model, built with the model's constructor (so
    defaults are filled); each carries its `agency_id`; none has an
    auto-increment key that the caller reads afterwards (it is not set)."""
    if not instances:
        return
    model = type(instances[0])
    sql, fields = _insert_plan(model, connection.vendor)
    params: list = []
    for obj in instances:
        if type(obj) is not model:
            raise TypeError(f"instances_insert takes one model at a time, got {model.__name__} and {type(obj).__name__}")
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)
        # As after save(): the instance is now a stored row (refresh_from_db, later save() update it).
        obj._state.adding = False
        obj._state.db = connection.alias
    placeholder = _row_placeholder(len(fields))
    with connection.cursor() as cursor:
        cursor.execute(sql + ", ".join([placeholder] * len(instances)), params)


@functools.cache
def _update_plan(model: type[models.Model], names: tuple[str, ...], vendor: str) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    fields = tuple(meta.get_field(name) for name in names)
    for f in fields:
        if not f.concrete or f.primary_key:
            raise ValueError(f"{model.__name__}.{f.name} is not a column instance_update can set")
    qn = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s AND {} = %s".format(
        qn(meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in fields),
        qn(meta.pk.column), qn(meta.get_field("agency").column),
    )
    return sql, fields


def instance_update(obj: models.Model, update_fields: Iterable[str]) -> None:
    """`obj.save(update_fields=...)` for a stored row of an agency-owned model.

    Preconditions: `obj` was read from the database (or inserted) and has an
    `agency` foreign key; the caller holds its row lock when other writers may
    race. Like save(), a row that is not there (here: not this agency's
    either) raises DatabaseError instead of passing silently."""
    model = type(obj)
    sql, fields = _update_plan(model, tuple(dict.fromkeys(update_fields)), connection.vendor)
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    params.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
    params.append(model._meta.get_field("agency").get_db_prep_save(obj.agency_id, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Matched rows, not changed ones: Django connects to MySQL with CLIENT.FOUND_ROWS.
        if cursor.rowcount == 0:
            raise DatabaseError(f"{model.__name__} {obj.pk} of agency {obj.agency_id} is not stored: nothing updated")
