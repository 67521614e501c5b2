# The record's hash is looked up by equality only: its unique constraint stays (same name), the
# LIKE index Django made beside it goes (sharing/core/pattern_index.py).

from django.db import migrations

from sharing.core.pattern_index import unique_without_pattern_index


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_org_time_index"),
    ]

    operations = [
        unique_without_pattern_index(model_name="auditevent", field="hash", max_length=64, table="audit_auditevent"),
    ]
