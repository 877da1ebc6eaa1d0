"""Drop the ping's own index on ``instance_id``: ``ping_instance_latest`` (instance,
-recorded_at) already serves every lookup by instance, and each index costs every
insert. Only the index goes; the foreign key is not dropped and re-validated (that
would scan the whole ping table under lock). On PostgreSQL the drop, and the rebuild
when reversed, run CONCURRENTLY so ingestion never waits on them."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "scoring_usageping_instance_id_2bb906d7"


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {INDEX}")


def create(apps, schema_editor) -> None:
    schema_editor.execute(
        f"CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS {INDEX}"
        " ON scoring_usageping (instance_id)"
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("accounts", "0004_use_case_override"),
        ("scoring", "0010_lz4_for_large_json"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="usageping",
                    name="instance",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="pings",
                        to="accounts.instance",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, create, elidable=False)],
        ),
    ]
