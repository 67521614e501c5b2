# A proof's jti is looked up by equality only (ON CONFLICT (jti)): its unique constraint stays
# (same name), the LIKE index Django made beside it goes (sharing/core/pattern_index.py).

from django.db import migrations

from sharing.core.pattern_index import unique_without_pattern_index


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0004_export_removed"),
    ]

    operations = [
        unique_without_pattern_index(model_name="useddpopproof", field="jti", max_length=200, table="fhir_useddpopproof"),
    ]
