"""Writing many new rows of one kind at once: history rows, outbox events, order lines and an
import's report rows.

`insert_rows(objs)` inserts unsaved instances of one model inside the caller's transaction,
as `bulk_create` does. On PostgreSQL it streams them with COPY: a large `bulk_create` there
sends each column as an array literal that psycopg builds in Python, escaping every quote of
every value (an outbox event's JSON has about sixty), and that took longer than the insert
itself (6,400 import events: 1.8 s with `bulk_create`, 0.3 s with COPY). Each value is
prepared by its field (`get_db_prep_save`) as `bulk_create` prepares it, except plain text,
numbers and yes/no values, which that would hand on unchanged; defaults were set when the
instance was built. Elsewhere (SQLite) it is `bulk_create`.

The instances' primary keys are not read back: only for rows nobody reads again in the same
breath. Orders are never written here: they are created with `bulk_create` (their ids are
needed) and their status fields only ever change through Order.save().
"""

from django.db import connections, router
from django.db.models import Field


def insert_rows(objs):
    """Insert the unsaved model instances `objs` (one model) in one statement."""
    objs = list(objs)
    if not objs:
        return
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql" or len(objs) == 1:
        model._default_manager.using(alias).bulk_create(objs)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and not f.generated]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    relations = [f for f in fields if f.is_relation]
    plain = [_plain_type(f) for f in fields]
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        for obj in objs:
            for field in relations:
                # As bulk_create: a related row saved after this instance was built.
                if getattr(obj, field.attname) is None and field.is_cached(obj):
                    related = field.get_cached_value(obj)
                    if related is not None:
                        setattr(obj, field.attname, related.pk)
            row = []
            for field, kind in zip(fields, plain, strict=True):
                value = field.pre_save(obj, True)
                if kind is None or (value is not None and type(value) is not kind):
                    value = field.get_db_prep_save(value, connection)
                row.append(value)
            copy.write_row(row)


# Fields whose value, when it already has this exact Python type (or is None), their
# get_db_prep_save() hands to the driver unchanged on PostgreSQL; preparing them anyway was
# most of the time spent per row. Any other field or value is prepared by its field.
_PLAIN = {
    "CharField": str,
    "TextField": str,
    "BooleanField": bool,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveSmallIntegerField": int,
    "AutoField": int,
    "BigAutoField": int,
    "SmallAutoField": int,
}


def _plain_type(field):
    target = field.target_field if field.is_relation else field
    if type(target).get_db_prep_save is not Field.get_db_prep_save:
        return None  # a field with its own preparation: always prepared
    return _PLAIN.get(target.get_internal_type())
