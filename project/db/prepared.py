"""The per-message SQL of the live chat, compiled once.

Every lead message and every finished reply reads the conversation (locked,
with its lead), inserts a turn and its events and updates the conversation
and the lead: 4–9 statements whose SQL never changes.
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

What the writes do not do, on purpose: signals (the project has no model
signals; STYLE.md keeps logic out of them), `auto_now` (the chat's models set
their timestamps themselves; a model with such a field is refused) and reading
back generated keys (none of these callers needs them). Tenancy: an insert's
rows carry their own `agency_id`, and an update names the agency in its
WHERE, as the scoped managers would.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import threading
import uuid
from collections.abc import Iterable, Sequence

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.models.query import ModelIterable, get_related_populators
from django.db.transaction import TransactionManagementError


@functools.cache
def _insert_plan(model: type[models.Model], vendor: str) -> tuple[str, tuple[models.Field, ...]]:
    # An auto-increment key is the database's to assign; every other concrete column is written.
    fields = tuple(f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField))
    _refuse_auto_now(model, fields)
    qn = _connection().ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ".format(qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields))
    return sql, fields


def _refuse_auto_now(model: type[models.Model], fields: Iterable[models.Field]) -> None:
    # save() would stamp these in pre_save(); here nobody would, silently.
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raise ValueError(f"{model.__name__}.{f.name} is auto_now: write it with save()")


@functools.cache
def _row_placeholder(count: int) -> str:
    return "(" + ", ".join(["%s"] * count) + ")"


def _connection():
    # The connection itself, not django.db.connection: every attribute read on
    # that proxy is a lookup of the thread's connection (asgiref's Local), and
    # each field's get_db_prep_save() reads it a time or two: ~75 lookups per
    # lead message before this.
    return connections[DEFAULT_DB_ALIAS]


def instances_insert(instances: Sequence[models.Model]) -> None:
    """INSERT these new, unsaved instances of one model in one statement.

    Preconditions: all of one model, built with the model's constructor (so
    defaults are filled); each carries its `agency_id`; none has an
    auto-increment key that the caller reads afterwards (it is not set)."""
    if not instances:
        return
    model = type(instances[0])
    conn = _connection()
    sql, fields = _insert_plan(model, conn.vendor)
    params: list = []
    for obj in instances:
        if type(obj) is not model:
            raise TypeError(f"instances_insert takes one model at a time, got {model.__name__} and {type(obj).__name__}")
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), conn) for f in fields)
        # As after save(): the instance is now a stored row (refresh_from_db, later save() update it).
        obj._state.adding = False
        obj._state.db = conn.alias
    placeholder = _row_placeholder(len(fields))
    with conn.cursor() as cursor:
        cursor.execute(sql + ", ".join([placeholder] * len(instances)), params)


@functools.cache
def _update_plan(model: type[models.Model], names: tuple[str, ...], vendor: str) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    fields = tuple(meta.get_field(name) for name in names)
    for f in fields:
        if not f.concrete or f.primary_key:
            raise ValueError(f"{model.__name__}.{f.name} is not a column instance_update can set")
    _refuse_auto_now(model, fields)
    qn = _connection().ops.quote_name
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
    conn = _connection()
    sql, fields = _update_plan(model, tuple(dict.fromkeys(update_fields)), conn.vendor)
    params = [f.get_db_prep_save(getattr(obj, f.attname), conn) for f in fields]
    params.append(model._meta.pk.get_db_prep_value(obj.pk, conn))
    params.append(model._meta.get_field("agency").get_db_prep_save(obj.agency_id, conn))
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        # Matched rows, not changed ones: Django connects to MySQL with CLIENT.FOUND_ROWS.
        if cursor.rowcount == 0:
            raise DatabaseError(f"{model.__name__} {obj.pk} of agency {obj.agency_id} is not stored: nothing updated")


# --- Reads ---------------------------------------------------------------------


class _Plan:
    __slots__ = ("vendor", "sql", "params", "slots", "compiler", "converters", "instances", "model", "start", "end",
                 "init_list", "related", "db", "for_update")


class PreparedSelect:
    """A queryset whose SQL is compiled once per thread and run with new values.

    Compiling a SELECT is the costly part of a small read: for the lead
    message path's conversation with its lead (~80 columns, FOR UPDATE) Django
    spends ~1.5 ms of CPU building the SQL against ~0.5 ms executing it and
    making the instances. `build(**values)` returns the queryset; it is called
    once, with a sentinel for each name in `slots` (the field each value is
    compared with), and later calls substitute their values for the sentinels'
    positions in the compiled parameters. Rows become model instances as
    Django's ModelIterable makes them (converters, deferred fields,
    select_related), or tuples for a `values_list()` queryset.

    Preconditions: `build` gives the same SQL for any values of the slots
    (filters that compare a slot with `=`, no branching on them); a scoped
    manager inside it needs its scope: give the agency as a slot too. Each
    thread compiles its own (the compiler holds the thread's connection).
    """

    def __init__(self, build, **slots: models.Field):
        self._build = build
        self._slots = slots
        self._local = threading.local()

    def _plan(self, conn) -> _Plan:
        plan = getattr(self._local, "plan", None)
        if plan is not None and plan.vendor == conn.vendor:
            return plan
        sentinels = {name: self._sentinel(field) for name, field in self._slots.items()}
        # A FOR UPDATE queryset compiles only inside a transaction; no savepoint if already in one.
        with transaction.atomic() if not conn.in_atomic_block else contextlib.nullcontext():
            queryset = self._build(**sentinels)
            compiler = queryset.query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
        params = list(params)
        slots: list[tuple[int, str, models.Field]] = []
        for name, field in self._slots.items():
            prepared = field.get_db_prep_value(sentinels[name], conn)
            positions = [i for i, value in enumerate(params) if value == prepared]
            if len(positions) != 1:
                raise ValueError(f"PreparedSelect: {name} appears {len(positions)} times in the compiled parameters")
            slots.append((positions[0], name, field))
        plan = _Plan()
        plan.vendor, plan.sql, plan.params, plan.slots = conn.vendor, sql, params, slots
        plan.compiler, plan.db = compiler, queryset.db
        plan.for_update = queryset.query.select_for_update
        plan.converters = compiler.get_converters([s[0] for s in compiler.select[0:compiler.col_count]])
        plan.instances = issubclass(queryset._iterable_class, ModelIterable)
        if plan.instances:
            klass_info = compiler.klass_info
            plan.model = klass_info["model"]
            select_fields = klass_info["select_fields"]
            plan.start, plan.end = select_fields[0], select_fields[-1] + 1
            plan.init_list = [f[0].target.attname for f in compiler.select[plan.start:plan.end]]
            plan.related = get_related_populators(klass_info, compiler.select, queryset.db)
        self._local.plan = plan
        return plan

    @staticmethod
    def _sentinel(field: models.Field):
        target = getattr(field, "target_field", field)
        if isinstance(target, models.UUIDField):
            return uuid.uuid4()
        if isinstance(target, models.IntegerField):
            return 2_000_000_000 - secrets.randbelow(1_000_000)
        raise TypeError(f"PreparedSelect slots are UUID or integer fields, not {type(target).__name__}")

    def run(self, **values) -> list:
        conn = _connection()
        plan = self._plan(conn)
        if plan.for_update and not conn.in_atomic_block:
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(plan.params)
        for position, name, field in plan.slots:
            params[position] = field.get_db_prep_value(values[name], conn)
        with conn.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        if not plan.instances:
            return [tuple(row) for row in rows]
        objects = []
        for row in rows:
            obj = plan.model.from_db(plan.db, plan.init_list, row[plan.start:plan.end])
            for populator in plan.related:
                populator.populate(row, obj)
            objects.append(obj)
        return objects


def cached_relations_drop(instance: models.Model | None) -> None:
    """Forget the related rows cached on `instance`, once its caller is done
    with it.

    select_related across a one-to-one caches each row on the other
    (conversation.lead and lead.conversation): a reference cycle, so neither
    is freed until the garbage collector finds them. On the message path
    that is three pairs per lead message, and with what they hold (their
    states, UUIDs, field dicts) it was the bulk of what each young
    collection freed at 200 streaming conversations (bench/README.md,
    "Streaming, 2026-12-04 (20:40–21:00)"). Without the cycle, reference counting
    frees them as soon as the caller lets go."""
    if instance is not None:
        instance._state.fields_cache.clear()
