"""The one settings file.

Every value that differs between machines comes from the environment through the
small typed helpers below, which raise on a bad value instead of guessing. The
defaults are safe for local development, so `make run` needs no configuration;
with DJANGO_ENV=production the secrets have no defaults and a missing one stops
the process at start-up.
"""

import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from sharing.core.helseid import REQUIRED_SECURITY_LEVEL

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development, test or production.")
PRODUCTION = ENVIRONMENT == "production"

# Production has no default secret: a missing one must stop the process.
SECRET_KEY = env_str("SECRET_KEY", None if PRODUCTION else "dev-only-insecure-secret-key-change-me")
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "mozilla_django_oidc",
    "sharing.agreements",
    "sharing.measurements",
    "sharing.audit",
    "sharing.access",
    "sharing.fhir",
    "portal.login",
    "portal.clinician",
    "portal.agreements",
    "portal.auditor",
    "portal.launch",
]
# Demo people and data and the data generator (seed_demo, generate_data): never in production.
if not PRODUCTION:
    INSTALLED_APPS.append("devdata")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.NoStoreMiddleware",  # after WhiteNoise: static files keep their cache lifetime
    "portal.errors.DatabaseUnavailableMiddleware",  # a view that loses the database answers 503
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.login.sessions.SessionLimitsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.login.context.acting_user",
                "portal.agreements.context.admin_links",
                "portal.auditor.context.auditor_links",
            ],
        },
    },
]


def database(url: str, conn_max_age: int) -> dict[str, Any]:
    """One DATABASES entry from a URL; a libpq multi-host URL (`postgres://u@h1:p1,h2:p2/db?...`)
    becomes HOST "h1,h2" and PORT "p1,p2", which libpq tries in order (docs/scaling.md)."""
    match = re.fullmatch(r"(postgres(?:ql)?://(?:[^@/]*@)?)([^/?@]*,[^/?@]*)(/.*)?", url)
    if not match:
        return _prepared_statements(
            dict(dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True))
        )
    hosts = [item.rpartition(":") if ":" in item else (item, "", "") for item in match[2].split(",")]
    config = dict(
        dj_database_url.parse(
            f"{match[1]}placeholder{match[3] or ''}", conn_max_age=conn_max_age, conn_health_checks=True
        )
    )
    config["HOST"] = ",".join(host for host, _colon, _port in hosts)
    config["PORT"] = ",".join(port or "5432" for _host, _colon, port in hosts)
    return _prepared_statements(config)


def _prepared_statements(config: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL: let psycopg prepare the statements `sharing.core.prepared` asks it to (Django turns
    preparing off altogether by default), and ingest's bulk insert (`sharing.measurements.storage`,
    the one other server-binding cursor) after its fifth use on a connection. Django's own cursors
    bind on the client and never prepare; behind PgBouncer in transaction mode this needs PgBouncer
    1.21 or later with max_prepared_statements set (docs/deploy.md)."""
    if config.get("ENGINE", "").endswith("postgresql"):
        config["OPTIONS"] = {"prepare_threshold": 5, **(config.get("OPTIONS") or {})}
        # Django's backend, reading timestamps in C and checking a connection's health without a
        # round trip on every request (sharing/core/postgresql/base.py).
        config["ENGINE"] = "sharing.core.postgresql"
    return config


# SQLite is only the zero-setup default for `make run`; tests and production use PostgreSQL.
# CONN_HEALTH_CHECKS: a connection broken by a failover is replaced at the next request.
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60)
DATABASES = {
    "default": database(
        env_str("DATABASE_URL", None if PRODUCTION else f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"), DB_CONN_MAX_AGE
    )
}
# A request that finds the database unreachable (a failover, a restart) is answered 503 with this
# Retry-After, in seconds (sharing.core.outage, docs/scaling.md): about a promotion's time.
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 5)
# --- The hot standby (sharing.core.replica, docs/scaling.md) ------------------------------
# A streaming standby of the primary: the one door's reads of patient data go to it while its
# replay lag is at most REPLICA_MAX_LAG_MS (asked at most every REPLICA_LAG_CACHE_MS); writes,
# decisions and the access log stay on the primary. Empty: no standby, nothing changes.
REPLICA_DATABASE_URL = env_str("REPLICA_DATABASE_URL", "")
REPLICA_MAX_LAG_MS = env_int("REPLICA_MAX_LAG_MS", 1000)
REPLICA_LAG_CACHE_MS = env_int("REPLICA_LAG_CACHE_MS", 500)
if REPLICA_DATABASE_URL:
    _standby = database(REPLICA_DATABASE_URL, DB_CONN_MAX_AGE)
    # A standby that does not answer costs a request at most this long, then reads use the primary.
    _standby["OPTIONS"] = {"connect_timeout": 2, **(_standby.get("OPTIONS") or {})}
    _standby["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _standby
    DATABASE_ROUTERS = ["sharing.core.replica.StandbyRouter"]
# synchronous_commit for the transactions of ingest and of the access log (SET LOCAL), so an
# acknowledged measurement or record is on the standby too: on, remote_apply, remote_write,
# local; empty: PostgreSQL's own setting is left as it is.
REPLICA_SYNCHRONOUS_COMMIT = env_str("REPLICA_SYNCHRONOUS_COMMIT", "")
if REPLICA_SYNCHRONOUS_COMMIT not in {"local", "remote_write", "on", "remote_apply"} | {""}:
    raise ImproperlyConfigured("REPLICA_SYNCHRONOUS_COMMIT must be on, remote_apply, remote_write or local.")
# The access log's committed record EXECUTEs a statement the connection PREPAREd (SQL-level, in the
# record's own message; sharing/audit/actions.py). Off behind PgBouncer in transaction mode, which
# tracks protocol-level prepared statements only (docs/deploy.md).
AUDIT_PREPARED_STATEMENT = env_bool("AUDIT_PREPARED_STATEMENT", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # no local passwords: HelseID only

LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Third-party browser code is installed by npm and served from node_modules, never copied in.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", BASE_DIR / "node_modules")]
# Outside production, serve straight from the source folders (no collectstatic step).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Sessions: HttpOnly, SameSite and (outside plain-HTTP development) Secure.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_HTTPONLY = True  # no script reads it: forms carry the token
if PRODUCTION:
    # __Host- cookies must be Secure, for "/" and without Domain: a sibling host cannot plant them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# How long the server keeps a session record; the cookie itself is a browser-session cookie
# (SESSION_EXPIRE_AT_BROWSER_CLOSE below). Both limits are counted in the session on the server
# (portal.login.sessions).
SESSION_COOKIE_AGE = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_ABSOLUTE_SECONDS = SESSION_COOKIE_AGE
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Login: HelseID (devidp locally) -----------------------------------------------
AUTHENTICATION_BACKENDS = ["portal.login.backend.HelseIDBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "clinician:search"
LOGOUT_REDIRECT_URL = "login"
OIDC_ISSUER = env_str("OIDC_ISSUER", None if PRODUCTION else "http://127.0.0.1:8081")
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "maaledata-portal")
OIDC_RP_CLIENT_SECRET = ""  # unused: the client authenticates with private_key_jwt
# The client's private key (PEM), from a file or directly from the environment.
OIDC_RP_PRIVATE_KEY_FILE = env_str(
    "OIDC_RP_PRIVATE_KEY_FILE", "" if PRODUCTION else str(VAR_DIR / "keys" / "portal.pem")
)
OIDC_RP_PRIVATE_KEY = env_str("OIDC_RP_PRIVATE_KEY", "")
# The key id registered with the public key (HelseID Selvbetjening); default: the JWK's own kid,
# else the key's RFC 7638 thumbprint.
OIDC_RP_PRIVATE_KEY_KID = env_str("OIDC_RP_PRIVATE_KEY_KID", "")
# Send a DPoP proof with token requests, so the access token is sender-constrained (FAPI 2.0).
OIDC_USE_DPOP = env_bool("OIDC_USE_DPOP", True)
# Emergency access needs a HelseID login at most this old (portal.login.freshness).
EMERGENCY_LOGIN_MAX_AGE_SECONDS = env_int("EMERGENCY_LOGIN_MAX_AGE_SECONDS", 10 * 60)
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = env_str(
    "OIDC_RP_SCOPES",
    "openid profile helseid://scopes/identity/pid helseid://scopes/identity/security_level "
    "helseid://scopes/hpr/hpr_number offline_access",
)
OIDC_ACR_VALUES = env_str("OIDC_ACR_VALUES", "Level4")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # needed as id_token_hint for RP-initiated logout
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
OIDC_REQUIRED_SECURITY_LEVEL = REQUIRED_SECURITY_LEVEL  # named once, in sharing/core/helseid.py
# TLS certificate checks on every call to the identity provider; off only for a local test IdP.
OIDC_VERIFY_SSL = env_bool("OIDC_VERIFY_SSL", True)
if PRODUCTION and not OIDC_VERIFY_SSL:
    raise ImproperlyConfigured("OIDC_VERIFY_SSL cannot be turned off in production: HelseID is reached over TLS.")
# Filled in from the issuer's discovery document; mozilla-django-oidc requires the names.
OIDC_OP_AUTHORIZATION_ENDPOINT = ""
OIDC_OP_TOKEN_ENDPOINT = ""
OIDC_OP_USER_ENDPOINT = ""
OIDC_OP_JWKS_ENDPOINT = ""

# --- FHIR API ------------------------------------------------------------------------
# The API as registered in HelseID Selvbetjening: an audience named `<prefix>:<name>` and scopes named
# `<audience>/<scope>`, as HelseID names every API (e.g. `nhn:pps` and `nhn:pps/provesvar-read`).
# Everything else (the token checks, devidp's registration, the clients of ours) takes them from here.
FHIR_API_AUDIENCE = env_str("FHIR_API_AUDIENCE", "maaledata:fhir")
FHIR_SCOPE_OBSERVATION_WRITE = f"{FHIR_API_AUDIENCE}/observation.write"
FHIR_SCOPE_OBSERVATION_READ = f"{FHIR_API_AUDIENCE}/observation.read"
FHIR_SCOPE_AUDITEVENT_READ = f"{FHIR_API_AUDIENCE}/auditevent.read"
# Bulk Data $export of the client's own municipality's measurements (return of data).
FHIR_SCOPE_EXPORT = f"{FHIR_API_AUDIENCE}/observation.export"
# How long a finished export's files are kept before `purge_exports` (or the next poll) removes them.
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 24)
# The user claims the API's registration asks HelseID to put into its access tokens (HelseID adds
# a user claim to an API's tokens only when the API lists it).
FHIR_API_USER_CLAIMS = (
    "helseid://claims/identity/pid",
    "helseid://claims/identity/security_level",
    "helseid://claims/hpr/hpr_number",
    # Professions and authorisation validity: the read API checks them as the portal does.
    "helseid://claims/hpr/hpr_details",
    "name",
)
# Seconds of clock difference allowed when checking an access token's exp, nbf and iat.
FHIR_TOKEN_LEEWAY_SECONDS = env_int("FHIR_TOKEN_LEEWAY_SECONDS", 5)
FHIR_MAX_BODY_BYTES = env_int("FHIR_MAX_BODY_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = FHIR_MAX_BODY_BYTES
INGEST_CLOCK_SKEW_SECONDS = env_int("INGEST_CLOCK_SKEW_SECONDS", 300)
FHIR_MAX_BUNDLE_ENTRIES = env_int("FHIR_MAX_BUNDLE_ENTRIES", 2000)  # larger Bundles get 413
# Reads need DPoP-bound tokens (PMD and HelseID require sender-constrained tokens). The client ids
# listed here, and only they, may read with an unbound token sent as Bearer: an allow-list for a
# system that cannot do DPoP yet, empty by default. A bound token is never accepted as Bearer.
FHIR_UNBOUND_READ_CLIENTS = frozenset(env_list("FHIR_UNBOUND_READ_CLIENTS", []))
FHIR_CURSOR_MAX_AGE_SECONDS = env_int("FHIR_CURSOR_MAX_AGE_SECONDS", 3600)

REST_FRAMEWORK = {
    # Deny by default: each API view names the authentication it accepts.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["sharing.fhir.renderers.FHIRJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sharing.fhir.parsers.FHIRJSONParser"],
    "EXCEPTION_HANDLER": "sharing.fhir.errors.fhir_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Agreements, roles and emergency access (sharing.access, sharing.agreements) ---------
# The service operator (data processor): service auditors and system admins act for it.
SERVICE_OPERATOR_ORGNR = env_str("SERVICE_OPERATOR_ORGNR", None if PRODUCTION else "316666019")
# How long emergency access (break-glass) to one patient lasts before a new reason is needed.
EMERGENCY_ACCESS_HOURS = env_int("EMERGENCY_ACCESS_HOURS", 4)
# Agreements ending within this many days are flagged on the municipality admin's pages.
AGREEMENT_EXPIRY_WARNING_DAYS = env_int("AGREEMENT_EXPIRY_WARNING_DAYS", 30)

# --- Access log (sharing.audit) ------------------------------------------------------------
# HMAC key for the audit hash chain and its anchors, kept outside the database, so that someone
# who can write to the database cannot forge records that verify. Never empty: production must
# set one of at least 32 bytes; elsewhere a key is generated once into var/audit-chain.key (never
# committed), so development, tests and benchmarks run the same keyed chain. Set it once:
# records hashed with another key no longer verify.
AUDIT_CHAIN_KEY_MIN_BYTES = 32


def _generated_chain_key(path: Path) -> str:
    """The development key in `path`, created on first use (exclusively, so parallel processes agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this instant
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise ImproperlyConfigured(f"{path} is empty: delete it to generate a new audit chain key.") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(AUDIT_CHAIN_KEY_MIN_BYTES) + "\n")
    return path.read_text().strip()


AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY", None if PRODUCTION else "") or _generated_chain_key(
    VAR_DIR / "audit-chain.key"
)
if len(AUDIT_CHAIN_KEY.encode()) < AUDIT_CHAIN_KEY_MIN_BYTES:
    raise ImproperlyConfigured(f"AUDIT_CHAIN_KEY must be at least {AUDIT_CHAIN_KEY_MIN_BYTES} bytes.")
# Records are kept this many years after the event; `manage.py purge_audit` removes older ones.
AUDIT_RETENTION_YEARS = env_int("AUDIT_RETENTION_YEARS", 5)
# The review queue: how far back it looks, and the thresholds of its rules.
AUDIT_REVIEW_LOOKBACK_DAYS = env_int("AUDIT_REVIEW_LOOKBACK_DAYS", 31)
AUDIT_REVIEW_PATIENTS_PER_DAY = env_int("AUDIT_REVIEW_PATIENTS_PER_DAY", 30)
AUDIT_REVIEW_DENIED_BURST = env_int("AUDIT_REVIEW_DENIED_BURST", 3)
AUDIT_REVIEW_DENIED_BURST_MINUTES = env_int("AUDIT_REVIEW_DENIED_BURST_MINUTES", 10)
AUDIT_REVIEW_NIGHT_START_HOUR = env_int("AUDIT_REVIEW_NIGHT_START_HOUR", 23)  # local time (TIME_ZONE)
AUDIT_REVIEW_NIGHT_END_HOUR = env_int("AUDIT_REVIEW_NIGHT_END_HOUR", 6)
# The privacy officer's monthly random sample: this many granted lookups per month (0: none).
AUDIT_REVIEW_SAMPLE_PER_MONTH = env_int("AUDIT_REVIEW_SAMPLE_PER_MONTH", 5)

# --- Web security (portal.security) ----------------------------------------------------------
# Lookups (portal search and FHIR search) one person may make per hour before they are refused
# and an item is raised in the auditors' review queue. 0 turns the limit off.
LOOKUP_RATE_LIMIT_PER_HOUR = env_int("LOOKUP_RATE_LIMIT_PER_HOUR", 200)
# A strict Content-Security-Policy: no inline script or style anywhere, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "interest-cohort=(), browsing-topics=()"
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "portal.security.SecurityHeadersMiddleware"
)
# Outside the session, CSRF and messages middleware: it sees (and partitions) the cookies they set.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "portal.security.PartitionedCookiesMiddleware",
)

# --- EHR launch (SMART on FHIR), docs/ehr-launch.md -----------------------------------------
# The hospital records (EHRs) that may start the portal with a patient: a JSON list of
# {"iss": FHIR base URL, "name": shown in the log, "client_id", "client_secret"} (the portal's
# registration in that EHR). A launch naming any other `iss` is refused. Outside production the
# default is the test EHR (testehr/, started by `make run` on port 8082).
SMART_EHRS = env_str(
    "SMART_EHRS",
    "[]"
    if PRODUCTION
    else '[{"iss": "http://127.0.0.1:8082/fhir", "name": "Testjournal (Lovisenberg)",'
    ' "client_id": "maaledata-portal", "client_secret": "testehr-dev-secret"}]',
)
# Origins (scheme://host[:port]) of EHRs that show the portal inside their own window (an iframe).
# Only these may frame it (CSP frame-ancestors); with none, no one may (frame-ancestors 'none' and
# X-Frame-Options: DENY). When set, the session and CSRF cookies are SameSite=None; Secure, which
# browsers accept over HTTPS only (and on http://localhost / 127.0.0.1 for development), and
# Partitioned (CHIPS, portal.security.PartitionedCookiesMiddleware).
EHR_FRAME_ORIGINS = env_list("EHR_FRAME_ORIGINS", [])
for _origin in EHR_FRAME_ORIGINS:
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", _origin) or (
        PRODUCTION and not _origin.startswith("https://")
    ):
        raise ImproperlyConfigured(
            f"EHR_FRAME_ORIGINS: {_origin!r} is not an origin (https://host[:port]; https in production)."
        )
if EHR_FRAME_ORIGINS:
    # In the EHR's frame the portal is a third party: its cookies must be SameSite=None, which
    # browsers take only with Secure. The CSP's frame-ancestors is written by portal.security.
    SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "None"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
if PRODUCTION:
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
