# Order lines carry copies of their order's merchant, creation time and visibility, and one
# index over them answers a SKU search in the list's order (see OrderLine).

import django.db.models.deletion
from django.db import migrations, models

# PostgreSQL reads an expression index without the table only when every column the query
# names is in it: hence the raw sku at the end.
SKU_INDEX = (
    'CREATE INDEX "orderline_merchant_sku" ON "orders_orderline" '
    '("merchant_id", lower("sku"), "listed", "order_created_at", "order_id", "sku")'
)
OLD_SKU_INDEX = (
    'CREATE INDEX "orderline_sku_ci" ON "orders_orderline" (lower("sku"), "order_id", "sku")'
)


def add_listed(apps, schema_editor):
    # A column with a default through AddField makes SQLite rebuild the table, and a rebuilt
    # table keeps only the indexes the models declare (not the lower() ones of 0005/0007).
    true = "true" if schema_editor.connection.vendor == "postgresql" else "1"
    schema_editor.execute(
        f'ALTER TABLE "orders_orderline" ADD COLUMN "listed" boolean NOT NULL DEFAULT {true}'
    )


def drop_listed(apps, schema_editor):
    schema_editor.execute('ALTER TABLE "orders_orderline" DROP COLUMN "listed"')


def copy_and_index(apps, schema_editor):
    schema_editor.execute(
        'UPDATE "orders_orderline" SET ("merchant_id", "order_created_at", "listed") = '
        '(SELECT o."merchant_id", o."created_at", o."status" <> \'clean_swept\' '
        'FROM "orders_order" o WHERE o."id" = "orders_orderline"."order_id")'
    )
    schema_editor.execute('DROP INDEX IF EXISTS "orderline_sku_ci"')
    schema_editor.execute(SKU_INDEX)


def unindex(apps, schema_editor):
    schema_editor.execute('DROP INDEX IF EXISTS "orderline_merchant_sku"')
    schema_editor.execute(OLD_SKU_INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0008_order_merchant_no_own_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="orderline",
                    name="listed",
                    field=models.BooleanField(default=True, editable=False),
                ),
            ],
            database_operations=[migrations.RunPython(add_listed, drop_listed)],
        ),
        migrations.AddField(
            model_name="orderline",
            name="merchant",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="orders.merchant",
            ),
        ),
        migrations.AddField(
            model_name="orderline",
            name="order_created_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(copy_and_index, unindex),
    ]
