"""Django's PostgreSQL backend with two changes for speed (base.py); ENGINE "sharing.core.postgresql"."""
