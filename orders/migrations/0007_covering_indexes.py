# Indexes that answer a SKU search from the index alone, on SQLite and PostgreSQL.

from django.db import migrations, models

# The SKU index gains the raw column: PostgreSQL reads an expression index without the
# table only when every column the query names (here sku, inside lower()) is in it.
SKU_INDEX_NOW = 'CREATE INDEX "orderline_sku_ci" ON "orders_orderline" (lower("sku"), "order_id", "sku")'
SKU_INDEX_BEFORE = 'CREATE INDEX "orderline_sku_ci" ON "orders_orderline" (lower("sku"), "order_id")'


def sku_index(sql):
    def run(apps, schema_editor):
        schema_editor.execute('DROP INDEX IF EXISTS "orderline_sku_ci"')
        schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0006_merge_0004_audit_log_0005_list_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="order",
            name="order_merchant_created",
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["merchant", "created_at", "id", "status"], name="order_merchant_created"
            ),
        ),
        migrations.RunPython(sku_index(SKU_INDEX_NOW), sku_index(SKU_INDEX_BEFORE)),
    ]
