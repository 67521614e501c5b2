"""DPoP proof checks for sender-constrained access tokens (RFC 9449), as HelseID and PMD require.

A DPoP-bound access token carries `cnf.jkt`, the thumbprint of the client's key. Each call
sends a fresh proof: a JWT signed with that key, naming the method and URL, bound to the
access token by `ath`. Proofs are single-use: their `jti` is recorded, and a second use
within the acceptance window is refused, across all workers (a database constraint).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from django.db import connection
from django.utils import timezone

from sharing.core.claims import OneTimeClaim

from .models import UsedDpopProof

ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256")
MAX_AGE_SECONDS = 60
CLOCK_SKEW_SECONDS = 10


class InvalidProof(Exception):
    pass


REPLAYED = "The DPoP proof has been used before (replay)."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of a public JWK (RSA or EC)."""
    members = ("e", "kty", "n") if jwk.get("kty") == "RSA" else ("crv", "kty", "x", "y")
    try:
        canonical = {name: jwk[name] for name in members}
    except KeyError as exc:
        raise InvalidProof(f"The proof's jwk lacks {exc}.") from exc
    return _b64(hashlib.sha256(json.dumps(canonical, separators=(",", ":"), sort_keys=True).encode()).digest())


def access_token_hash(token: str) -> str:
    return _b64(hashlib.sha256(token.encode()).digest())


def _normalise_url(url: str) -> str:
    """htu compares scheme, host and path; query and fragment are ignored (RFC 9449 §4.3)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


# Public keys built from proofs' jwk, by thumbprint: a client signs every call with one key.
_KEYS_MAX = 1024
_keys: dict[str, Any] = {}


def _public_key(thumbprint: str, jwk: dict[str, Any]) -> Any:
    """The key object for `jwk`, whose RFC 7638 thumbprint the caller has checked is `thumbprint`
    (the thumbprint covers every member that makes the key, so equal thumbprints are equal keys)."""
    key = _keys.get(thumbprint)
    if key is None:
        key = jwt.PyJWK(jwk).key
        if len(_keys) >= _KEYS_MAX:
            _keys.clear()
        _keys[thumbprint] = key
    return key


def verify_proof(
    *, proof: str, method: str, url: str, access_token: str, expected_jkt: str, record: bool = True
) -> OneTimeClaim:
    """Raise InvalidProof unless `proof` is a fresh DPoP proof for this call and token, unused.

    Returns its jti as a claim (sharing/core/claims.py). With `record` (the default) the jti is
    recorded as used here, and a replay raises InvalidProof; without, the caller records the claim
    (with the request's audit record, or `record_claim`) before it answers.
    """
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError as exc:
        raise InvalidProof(f"The DPoP proof is not a JWT: {exc}") from exc
    if header.get("typ") != "dpop+jwt":
        raise InvalidProof("The DPoP proof's typ must be dpop+jwt.")
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise InvalidProof("The DPoP proof must be signed with an asymmetric algorithm.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk:
        raise InvalidProof("The DPoP proof must carry the public key (jwk) in its header.")
    if jwk_thumbprint(jwk) != expected_jkt:
        raise InvalidProof("The DPoP proof is signed with a key other than the one the token is bound to.")
    try:
        claims: dict[str, Any] = jwt.decode(
            proof,
            _public_key(expected_jkt, jwk),
            algorithms=list(ALLOWED_ALGORITHMS),
            options={"require": ["jti", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidProof(f"The DPoP proof's signature or claims are invalid: {exc}") from exc
    if claims.get("htm") != method.upper():
        raise InvalidProof("The DPoP proof was made for another HTTP method.")
    if _normalise_url(str(claims.get("htu", ""))) != _normalise_url(url):
        raise InvalidProof("The DPoP proof was made for another URL.")
    if claims.get("ath") != access_token_hash(access_token):
        raise InvalidProof("The DPoP proof is not bound to this access token (ath).")
    now = time.time()
    iat = claims["iat"]
    if not isinstance(iat, int | float) or iat > now + CLOCK_SKEW_SECONDS or iat < now - MAX_AGE_SECONDS:
        raise InvalidProof("The DPoP proof is too old or from the future.")
    jti = str(claims["jti"])[:200]
    claim = OneTimeClaim(UsedDpopProof._meta.db_table, "jti", "seen_at", jti, timezone.now())
    if record:
        record_claim(claim)
    return claim


def record_claim(claim: OneTimeClaim) -> None:
    """Record a proof's jti as used, unless the request's audit record already did; InvalidProof
    if it was used before. Now and then, forget proofs too old to be replayed."""
    if not claim.claimed:
        _remember(claim.value, claim.at)
        claim.claimed = True
    # Proofs older than the window can no longer be replayed: forget them now and then.
    if hash(claim.value) % 100 == 0:
        cutoff = timezone.now() - dt.timedelta(seconds=MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS)
        UsedDpopProof.objects.filter(seen_at__lt=cutoff).delete()


def _remember(jti: str, now: dt.datetime) -> None:
    """Record the proof's jti; a second use of it is a replay.

    One statement, committed on its own: the unique constraint decides between concurrent
    uses, and ON CONFLICT DO NOTHING tells a replay apart without an error to roll back.

    On PostgreSQL, outside any transaction, that statement's commit does not wait for the disk
    (synchronous_commit off for it alone, set inside the statement): the flush cost a millisecond
    of every API call. Other workers see the jti as soon as it commits, as before; only a database
    crash can lose the last fraction of a second of remembered proofs (PostgreSQL writes them out
    within three wal_writer_delay, 0.6 s by default), and a proof among those could be replayed
    until it ages out (MAX_AGE_SECONDS) by someone who already holds it and its token. A replay
    cache that survives everything but a crash is what such caches usually are (in memory, say);
    docs/security.md.
    """
    table = connection.ops.quote_name(UsedDpopProof._meta.db_table)
    relaxed = connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block
    source = (
        "SELECT %s, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
        if relaxed
        else "VALUES (%s, %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (jti, seen_at) {source} ON CONFLICT (jti) DO NOTHING RETURNING jti",  # noqa: S608 - our own table name and a constant
            [jti, now],
        )
        if cursor.fetchone() is None:
            raise InvalidProof(REPLAYED)
