import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_append_only_triggers"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="municipalities",
            field=models.TextField(blank=True),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("prev_hash",), name="audit_one_successor"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["occurred_at"], name="audit_time_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["event", "occurred_at"], name="audit_event_time_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_sub", "occurred_at"], name="audit_actor_time_idx"),
        ),
        migrations.CreateModel(
            name="AuditEventMunicipality",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("municipality", models.CharField(max_length=9)),
                ("occurred_at", models.DateTimeField()),
                (
                    "event",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="municipality_rows",
                        to="audit.auditevent",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["municipality", "occurred_at"], name="audit_municipality_time_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("event", "municipality"), name="audit_municipality_unique")
                ],
            },
        ),
    ]
