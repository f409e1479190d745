# The order's merchant loses its own index: every index on orders starts with the merchant,
# and each index is one more write on every status change.
#
# Only the index is dropped: an AlterField would make SQLite rebuild the table, and a rebuilt
# table keeps only the indexes the models declare, not the lower() search indexes of 0005.

import django.db.models.deletion
from django.db import migrations, models

NAME = "orders_order_merchant_id_ab634f2d"  # the name Django gave it in 0001


def drop_merchant_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "orders_order")
    for name, info in constraints.items():
        plain_index = info["index"] and not (info["unique"] or info["primary_key"])
        if plain_index and info["columns"] == ["merchant_id"]:
            schema_editor.execute(f'DROP INDEX "{name}"')


def create_merchant_index(apps, schema_editor):
    schema_editor.execute(f'CREATE INDEX "{NAME}" ON "orders_order" ("merchant_id")')


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0007_covering_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="orders.merchant",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_merchant_index, create_merchant_index),
            ],
        ),
    ]
