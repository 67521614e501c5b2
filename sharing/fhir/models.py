from django.db import models


class UsedDpopProof(models.Model):
    """DPoP proof ids seen within the acceptance window: a second use is a replay."""

    jti = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.jti
