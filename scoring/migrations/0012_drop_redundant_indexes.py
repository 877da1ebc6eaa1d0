"""Drop the snapshot's and the weekly rollup's own index on ``account_id``: the unique
indexes (account, scorecard, as_of) and (account, week), and ``snapshot_latest``, lead
with it, and every index costs every row a recompute writes. Only the indexes go (see
0011); on PostgreSQL CONCURRENTLY."""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = {  # index → table
    "scoring_scoresnapshot_account_id_78a5abc9": "scoring_scoresnapshot",
    "scoring_weeklyhealth_account_id_93eb4227": "scoring_weeklyhealth",
}


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop(apps, schema_editor) -> None:
    for index in DROPPED:
        schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {index}")


def create(apps, schema_editor) -> None:
    drop(apps, schema_editor)  # a concurrent build that failed leaves an invalid index
    for index, table in DROPPED.items():
        schema_editor.execute(
            f"CREATE INDEX{_concurrently(schema_editor)} {index} ON {table} (account_id)"
        )


def _account(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name=related_name,
        to="accounts.account",
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("accounts", "0004_use_case_override"),
        ("scoring", "0011_ping_instance_index_covered_by_latest"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="scoresnapshot", name="account", field=_account("snapshots")
                ),
                migrations.AlterField(
                    model_name="weeklyhealth", name="account", field=_account("weeks")
                ),
            ],
            database_operations=[migrations.RunPython(drop, create, elidable=False)],
        ),
    ]
