from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: object) -> None:
    """Logins in these tests need no strong hashing; PBKDF2 would cost seconds per user on a busy machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
