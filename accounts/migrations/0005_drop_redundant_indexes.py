"""Drop the foreign-key indexes that a unique index leading with the same column already
serves, and index only the non-null rows of the user ones: a book's first scoring writes
~14 rows per account into these tables and paid for every index on each. Only indexes
change; the foreign keys are not dropped and re-validated (a scan of every row under
lock). On PostgreSQL the indexes go, and come back when reversed, CONCURRENTLY."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DROPPED = {  # index → (table, column)
    "accounts_accountusecase_account_id_d06e1808": ("accounts_accountusecase", "account_id"),
    "accounts_accountusecase_updated_by_id_0a08a045": ("accounts_accountusecase", "updated_by_id"),
    "accounts_checklistprogress_account_use_case_id_e5cbf044": (
        "accounts_checklistprogress",
        "account_use_case_id",
    ),
    "accounts_checklistprogress_changed_by_id_8049d273": (
        "accounts_checklistprogress",
        "changed_by_id",
    ),
}
PARTIAL = {  # index → (table, column): only rows a user changed
    "account_use_case_updated_by": ("accounts_accountusecase", "updated_by_id"),
    "checklist_progress_changed_by": ("accounts_checklistprogress", "changed_by_id"),
}


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def _drop(schema_editor, index: str) -> None:
    schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {index}")


def _create(schema_editor, index: str, table: str, column: str, where: str = "") -> None:
    # A concurrent build that failed leaves an invalid index of that name: start afresh.
    _drop(schema_editor, index)
    schema_editor.execute(
        f"CREATE INDEX{_concurrently(schema_editor)} {index} ON {table} ({column}){where}"
    )


def forwards(apps, schema_editor) -> None:
    for index, (table, column) in PARTIAL.items():
        _create(schema_editor, index, table, column, f" WHERE {column} IS NOT NULL")
    for index in DROPPED:
        _drop(schema_editor, index)


def backwards(apps, schema_editor) -> None:
    for index, (table, column) in DROPPED.items():
        _create(schema_editor, index, table, column)
    for index in PARTIAL:
        _drop(schema_editor, index)


def _user(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=django.db.models.deletion.SET_NULL,
        related_name=related_name,
        to=settings.AUTH_USER_MODEL,
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("accounts", "0004_use_case_override"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accountusecase",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="use_cases",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="accountusecase", name="updated_by", field=_user("+")
                ),
                migrations.AlterField(
                    model_name="checklistprogress",
                    name="account_use_case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="progress",
                        to="accounts.accountusecase",
                    ),
                ),
                migrations.AlterField(
                    model_name="checklistprogress", name="changed_by", field=_user("+")
                ),
                migrations.AddIndex(
                    model_name="accountusecase",
                    index=models.Index(
                        condition=models.Q(("updated_by__isnull", False)),
                        fields=["updated_by"],
                        name="account_use_case_updated_by",
                    ),
                ),
                migrations.AddIndex(
                    model_name="checklistprogress",
                    index=models.Index(
                        condition=models.Q(("changed_by__isnull", False)),
                        fields=["changed_by"],
                        name="checklist_progress_changed_by",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
