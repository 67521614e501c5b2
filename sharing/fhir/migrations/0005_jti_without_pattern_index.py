# A proof's jti is looked up by equality only (ON CONFLICT (jti)): its unique constraint stays
# (same name), the LIKE index Django made beside it goes (sharing/core/pattern_index.py).

from django.db import migrations, models

from sharing.core.pattern_index import drop_pattern_index


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0004_export_removed"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="useddpopproof", name="jti", field=models.CharField(max_length=200)),
                migrations.AddConstraint(
                    model_name="useddpopproof",
                    constraint=models.UniqueConstraint(fields=["jti"], name="fhir_useddpopproof_jti_key"),
                ),
            ],
            database_operations=[drop_pattern_index("fhir_useddpopproof", "jti")],
        ),
    ]
