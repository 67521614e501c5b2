"""What HelseID told us about a person at their last login."""

from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="helseid")
    # HelseID's pseudonymous subject: users are matched on this, never on e-mail.
    sub = models.CharField(max_length=200, unique=True)
    pid = models.CharField(max_length=32, blank=True)
    hpr_number = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=200, blank=True)
    security_level = models.CharField(max_length=4, blank=True)
    orgnr_parent = models.CharField(max_length=9, blank=True)
    orgnr_child = models.CharField(max_length=9, blank=True)
    idp = models.CharField(max_length=64, blank=True)
    # HelseID's hpr_details (from userinfo): professions and authorisation validity.
    hpr_details = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.sub[:8]}…)"


class LoginSession(models.Model):
    """Which portal session a HelseID login session (`sid`) opened, so that a logout at HelseID
    (back-channel logout, naming sid and sub) can end it here too."""

    # The back-channel logout looks sessions up by sid.
    sid = models.CharField(max_length=200, db_index=True)
    sub = models.CharField(max_length=200)
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sid[:8]}… → {self.session_key[:8]}…"
