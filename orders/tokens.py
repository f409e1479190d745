"""API tokens: created (shown once), checked, revoked. Only a SHA-256 of each token is kept;
a token is long and random, so a plain fast hash is enough to make a stolen table useless."""

import hashlib
import secrets

from django.utils import timezone

from .models import ApiToken

PREFIX = "fdk_"


def _digest(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, merchant, name, by=None, token=None):
    """Staff (admin) or the command line: a new token for `merchant`. Returns (ApiToken,
    raw token); the raw token is not stored anywhere and cannot be shown again. `token` is
    an unsaved ApiToken to fill (the admin's add form)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = token or ApiToken()
    token.merchant = merchant
    token.name = name.strip()
    token.prefix = raw[: len(PREFIX) + 6]
    token.key_hash = _digest(raw)
    token.created_by = by if getattr(by, "pk", None) else None
    token.save()
    return token, raw


def token_authenticate(raw):
    """The active ApiToken for a raw token, or None. Notes when it was last used."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("merchant")
        .filter(key_hash=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
        # One write a minute at most: the API should not update a row on every call.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token


def token_revoke(*, token):
    """Staff: the token stops working at once. Revoking twice keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
