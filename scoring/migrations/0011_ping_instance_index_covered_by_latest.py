"""Drop the ping's own index on ``instance_id``: ``ping_instance_latest`` (instance,
-recorded_at) already serves every lookup by instance, and each index costs every
insert. Only the index goes; the foreign key is not dropped and re-validated (that
would scan the whole ping table under lock)."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "scoring_usageping_instance_id_2bb906d7"


class Migration(migrations.Migration):
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
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON scoring_usageping (instance_id)",
                ),
            ],
        ),
    ]
