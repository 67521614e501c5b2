import uuid

from django.db import models


class UsedDpopProof(models.Model):
    """DPoP proof ids seen within the acceptance window: a second use is a replay."""

    jti = models.CharField(max_length=200)  # unique: Meta.constraints
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # Looked up by equality only (ON CONFLICT (jti)): a named constraint, so no LIKE index
        # beside it on a table every API read inserts into (sharing/core/pattern_index.py).
        constraints = [models.UniqueConstraint(fields=["jti"], name="fhir_useddpopproof_jti_key")]

    def __str__(self) -> str:
        return self.jti


class ReceivedBundle(models.Model):
    """A PMD 2.0 Bundle (by its Bundle.identifier) a client sent and that was stored in full, with
    the answer it got: a re-send is answered from here and stores nothing."""

    client_id = models.CharField(max_length=200)
    identifier = models.CharField(max_length=200)
    response = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_id", "identifier"], name="received_bundle_unique")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.identifier}"


class ExportJob(models.Model):
    """One Bulk Data $export kick-off: whose, for which municipality, since when, and its files.

    The export runs inside the kick-off request (the answer is still 202 and a status URL, as
    the Bulk Data spec has it); the NDJSON lives in ``ExportFile`` until the job is deleted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.CharField(max_length=200)
    municipality = models.CharField(max_length=9)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2048)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Its files removed after EXPORT_RETENTION_HOURS (sharing.fhir.actions): the job stays, so its
    # status URL can say 410 Gone rather than 404.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # purge_exports: the jobs not yet removed, oldest first.
            models.Index(
                fields=["created_at"], condition=models.Q(removed_at__isnull=True), name="export_job_live_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.id} {self.municipality}"


class ExportFile(models.Model):
    """One NDJSON file of an export: one resource per line."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=40)
    count = models.PositiveIntegerField()
    content = models.TextField()

    def __str__(self) -> str:
        return f"{self.resource_type} {self.count} ({self.job_id})"
