# The record's hash is looked up by equality only: its unique constraint stays (same name), the
# LIKE index Django made beside it goes (sharing/core/pattern_index.py).

from django.db import migrations, models

from sharing.core.pattern_index import drop_pattern_index


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_org_time_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="auditevent", name="hash", field=models.CharField(max_length=64)),
                migrations.AddConstraint(
                    model_name="auditevent",
                    constraint=models.UniqueConstraint(fields=["hash"], name="audit_auditevent_hash_key"),
                ),
            ],
            database_operations=[drop_pattern_index("audit_auditevent", "hash")],
        ),
    ]
