"""Reads whose SQL the ORM builds once.

Building a read through the ORM (the queryset, its filters, the compiler, the SQL text) costs
about 0.25 ms of CPU on this machine for the smallest query, more than the database takes to
answer it by an index. The reads every dashboard page makes have a fixed shape: the
signed-in user, their memberships, the status counts, the list's column choice, the saved
views, the fulfillment centers. Only their values change. A `Prepared` read builds its SQL
once per database connection, with stand-in values that show where each argument goes
among the statement's parameters, and afterwards runs that SQL with the new values and
converts the rows with the same converters the ORM would use. On PostgreSQL the statement
is prepared on the server too (orders/plans.py), after a connection has run it five times:
these reads look rows up by their keys, where one plan fits every value, and parsing and
planning each one again was more than half of what PostgreSQL spent on it (0.19 → 0.08 ms
of its CPU for the memberships and the status counts together).

Only `values_list()` querysets of plain arguments (whole numbers, texts and aware
datetimes compared as they are, lists of whole numbers for an IN) can be prepared. A shape
whose stand-ins do not come out as parameters of their own (a text turned into a LIKE
pattern, a moment computed from the argument, say) is never prepared: every call then builds
it through the ORM, so the answer is the same either way.
"""

import datetime
import threading

from django.db import connections, router

from .plans import prepared

# Stand-ins fit the smallest integer column (32 bits: auth_user.id): Django answers "no rows"
# without asking the database for a value out of a column's range, and nothing is built.
_STAND_IN_INT = -(2**31)


class Prepared:
    """`build(*args)` gives the values_list() queryset for these arguments; `kinds` says
    for each argument whether it is an int, a str or a list of ints. Calling the Prepared
    read returns the list of rows (tuples, or values when the queryset is flat). With
    `objects=True`, `build` gives a plain queryset of `model` (no select_related) and the
    call returns model instances, made as the ORM makes them (Model.from_db)."""

    def __init__(self, model, build, *kinds, objects=False):
        self.model = model
        self.kinds = kinds
        self.objects = objects
        if objects:
            self.names = [field.attname for field in model._meta.concrete_fields]
            self.build = lambda *args: build(*args).values_list(*self.names)
        else:
            self.build = build
        self._lock = threading.Lock()
        # Per database alias and length of the list arguments: (sql, slots, converters,
        # flat), or None when not preparable. Kept per alias, not per connection object:
        # every thread has its own connection, and a server that starts a thread per
        # request (runserver) would keep one entry per request. The converters of the
        # first connection serve all of its alias's (they read settings, not the session).
        self._compiled = {}

    def __call__(self, *args, using=None):
        alias = using or router.db_for_read(self.model)
        connection = connections[alias]
        # A list argument (kind `list`: whole numbers, for an IN) gives the SQL as many
        # placeholders as it has items: one statement per length. An empty list is asked
        # through the ORM, which knows what matching nothing means where the list is used.
        lengths = tuple(
            len(arg) for arg, kind in zip(args, self.kinds, strict=True) if kind is list
        )
        compiled = None
        if all(lengths):
            compiled = self._compiled.get((alias, lengths), False)
            if compiled is False:
                with self._lock:
                    compiled = self._compiled[alias, lengths] = self._compile(connection, lengths)
        if compiled is None:
            rows = self._through_the_orm(args, alias)
        else:
            sql, slots, converters, flat = compiled
            params = [_value(slot, args, connection) for slot in slots]
            with prepared(alias), connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            if converters:
                rows = [_convert(row, converters, connection) for row in rows]
            rows = [row[0] for row in rows] if flat else [tuple(row) for row in rows]
        if self.objects:
            return [self.model.from_db(alias, self.names, row) for row in rows]
        return rows

    def _through_the_orm(self, args, alias):
        return list(self.build(*args).using(alias))

    def _statement(self, connection, stand_ins):
        """(sql, params, converters, flat) of the statement for these arguments, or None
        when it cannot be prepared."""
        queryset = self.build(*stand_ins)
        iterable = queryset._iterable_class.__name__
        if iterable not in ("ValuesListIterable", "FlatValuesListIterable"):
            return None
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = list(compiler.get_converters(fields).items())
        return sql, params, converters, iterable == "FlatValuesListIterable"

    def _stand_ins(self, lengths, connection):
        """A value for each argument that nothing else in a statement is, and where each
        one is: {(type, value): (argument position, item index or None)}."""
        out, where = [], {}
        lengths = iter(lengths)
        for position, kind in enumerate(self.kinds):
            base = _STAND_IN_INT + 1_000_003 * (position + 1)
            if kind is int:
                value = base
                where[int, value] = (position, None)
            elif kind is str:
                value = f"\x1fstand-in {position}\x1f"
                where[str, value] = (position, None)
            elif kind is list:
                value = [base + item for item in range(next(lengths))]
                where.update({(int, v): (position, item) for item, v in enumerate(value)})
            elif kind is datetime.datetime:
                # A moment no order has, as the database gets it (a text on SQLite): each
                # call's moment is turned into that form the same way.
                value = datetime.datetime(1901, 2, 3, 4, 5, 6, position + 1, tzinfo=datetime.UTC)
                where[datetime.datetime, value] = (position, None)
                adapted = connection.ops.adapt_datetimefield_value(value)
                where[type(adapted), adapted] = (position, _ADAPT)
            else:
                raise TypeError(f"Prepared arguments are int, str, datetime or list, not {kind!r}")
            out.append(value)
        return out, where

    def _compile(self, connection, lengths):
        """(sql, slots, converters, flat) for these list lengths, or None when the shape
        cannot be prepared. A slot is (None, constant) or (argument position, item index
        or None)."""
        stand_ins, where = self._stand_ins(lengths, connection)
        statement = self._statement(connection, stand_ins)
        if statement is None:
            return None
        sql, params, converters, flat = statement
        slots, seen = [], set()
        for param in params:
            found = where.get((type(param), param))
            if found is not None:
                slots.append(found)
                seen.add(found)
                continue
            if isinstance(param, str) and "\x1fstand-in" in param:
                return None  # an argument went into a larger value: not preparable
            slots.append((None, param))
        if {_argument(slot) for slot in seen} != {_argument(slot) for slot in where.values()}:
            return None  # an argument was dropped or merged: not preparable
        return sql, slots, converters, flat


_ADAPT = "adapt"  # a slot's argument goes to the database as the connection adapts it


def _argument(slot):
    """The argument (and item) a slot stands for, however it goes to the database."""
    position, item = slot
    return position, None if item is _ADAPT else item


def _value(slot, args, connection):
    position, value = slot
    if position is None:
        return value  # a constant of the statement
    if value is None:
        return args[position]
    if value is _ADAPT:
        return connection.ops.adapt_datetimefield_value(args[position])
    return args[position][value]  # an item of a list argument


def _convert(row, converters, connection):
    row = list(row)
    for position, (functions, expression) in converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return row


def keep_related(instance, name, objects):
    """Keep `objects`, read elsewhere (a Prepared read), as `instance.<name>.all()`, where
    prefetch_related() would keep them: later .all() calls read no database, and each
    object knows its `instance` without a query. `name` is a reverse foreign key whose
    field on the related model points at the instance (order.lines: each line's .order)."""
    field = getattr(type(instance), name).field
    for obj in objects:
        setattr(obj, field.name, instance)
    kept = getattr(instance, name).all()
    kept._result_cache = list(objects)
    kept._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = kept
