from django.db import models


class UsedDpopProof(models.Model):
    """DPoP proof ids seen within the acceptance window: a second use is a replay."""

    jti = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

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
