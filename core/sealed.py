"""Small secrets sealed for a short stay in the database (a run's secret inputs between the
request and the worker that types them).

Fernet (AES-CBC with an HMAC) under a key derived from DESKHAND_SECRET_KEY, which the web tier
and every worker share and which never goes into the database: a copy of the database (a
backup, a dump, free pages SQLite has not overwritten yet) does not reveal the values.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    key = hashlib.sha256(b"deskhand sealed values\0" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(values: dict) -> str:
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def unseal(token: str) -> dict:
    return json.loads(_fernet().decrypt(token.encode()))
