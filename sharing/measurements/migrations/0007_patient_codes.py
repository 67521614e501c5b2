"""Which codes each patient's measurements carry (PatientCode), kept by the database itself.

A statement trigger after every INSERT and UPDATE on the measurement table adds the codes of the
rows it wrote that are not there yet (in key order, so concurrent ingests wait on each other's new
keys in one order), and the table is filled from the measurements already stored. PostgreSQL
only: $lastn reads it there (`MeasurementQuerySet.newest_per_code`); the SQLite demo ranks instead.
"""

from typing import Any

from django.db import migrations, models

FUNCTION = """
CREATE OR REPLACE FUNCTION measurement_patient_codes() RETURNS trigger AS $$
BEGIN
    INSERT INTO measurements_patientcode (patient_value, source_orgnr, kind, code_system, code)
    SELECT DISTINCT a.patient_value, a.source_orgnr, a.kind, a.code_system, a.code FROM written AS a
    WHERE NOT EXISTS (
        SELECT 1 FROM measurements_patientcode AS c
        WHERE c.patient_value = a.patient_value AND c.source_orgnr = a.source_orgnr AND c.kind = a.kind
          AND c.code_system = a.code_system AND c.code = a.code
    )
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
# Transition tables allow one event per trigger: one trigger each, the same function.
TRIGGERS = """
CREATE TRIGGER measurement_codes_inserted AFTER INSERT ON measurements_measurement
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION measurement_patient_codes();
CREATE TRIGGER measurement_codes_updated AFTER UPDATE ON measurements_measurement
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION measurement_patient_codes();
"""
FILL = """
INSERT INTO measurements_patientcode (patient_value, source_orgnr, kind, code_system, code)
SELECT DISTINCT patient_value, source_orgnr, kind, code_system, code FROM measurements_measurement
ON CONFLICT DO NOTHING;
"""
DROP = """
DROP TRIGGER IF EXISTS measurement_codes_inserted ON measurements_measurement;
DROP TRIGGER IF EXISTS measurement_codes_updated ON measurements_measurement;
DROP FUNCTION IF EXISTS measurement_patient_codes();
"""


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for sql in (FUNCTION, TRIGGERS, FILL):  # the trigger first: nothing written meanwhile is missed
            schema_editor.execute(sql, params=None)


def remove(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("measurements", "0006_identity_link"),
    ]

    operations = [
        migrations.CreateModel(
            name="PatientCode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("patient_value", models.CharField(max_length=32)),
                ("source_orgnr", models.CharField(max_length=9)),
                ("kind", models.CharField(max_length=32)),
                ("code_system", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=64)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("patient_value", "source_orgnr", "kind", "code_system", "code"),
                        name="patient_code_unique",
                    )
                ],
            },
        ),
        migrations.RunPython(install, remove),
    ]
