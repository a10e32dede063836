"""Sealing sensitive fields for transport and storage (authenticated encryption, `cryptography`).

Two crypto profiles (`<PREFIX>CRYPTO_PROFILE`): `standard` seals with AES-256-GCM and fingerprints with
HMAC-SHA256; `gm` (国密, for deployments assessed under 商用密码应用安全性评估) seals with SM4-GCM (GB/T 32907 block
cipher in GCM mode, as RFC 8998 uses it) and fingerprints with HMAC-SM3 (GB/T 32905).

A sealed value carries the id of the key that sealed it, so keys can rotate: a service holds every key it may still
need to open (its secret settings), and seals new values with the current one. Each key names its algorithm (an
`sm4:` prefix for an SM4 key; none, or `aes:`, for AES-256), so a keyring may hold keys of both profiles while a
deployment moves from one to the other. The associated data binds a sealed value to what it is about (`binding`:
the table, the row, the field, a version of it) and, always, to the id of the key that sealed it: a ciphertext
copied onto another record, another field or an older version of the same one fails to open."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, model_validator
from pydantic import Field as PydanticField

_NONCE = 12
_TAG = 16

CryptoProfile = Literal["standard", "gm"]
Algorithm = Literal["AES-256-GCM", "SM4-GCM"]
#: What each profile seals new values with.
PROFILE_SEALING: dict[str, Algorithm] = {"standard": "AES-256-GCM", "gm": "SM4-GCM"}
_KEY_BYTES: dict[Algorithm, int] = {"AES-256-GCM": 32, "SM4-GCM": 16}
_PREFIXES: dict[str, Algorithm] = {"aes:": "AES-256-GCM", "sm4:": "SM4-GCM"}


class SealingError(ValueError):
    """A sealed value could not be opened: unknown key id, tampered ciphertext, or wrong associated data."""


class _Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class SM4GCM:
    """SM4 in GCM mode with the `AESGCM` interface (ciphertext followed by the 16-byte tag). `cryptography` has no
    one-shot AEAD class for SM4, so this drives its `Cipher` with the GCM mode; OpenSSL 1.1.1+ implements it."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("an SM4 key is 16 bytes")
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        sealed = encryptor.update(data) + encryptor.finalize()
        return sealed + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < _TAG:
            raise InvalidTag
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, data[-_TAG:])).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(data[:-_TAG]) + decryptor.finalize()


def _aead(algorithm: Algorithm, key: bytes) -> _Aead:
    return AESGCM(key) if algorithm == "AES-256-GCM" else SM4GCM(key)


def binding(*parts: object) -> bytes:
    """Associated data naming what a sealed value is about, e.g. `binding("intake.members", member_id,
    "id_number")`. Parts are joined with a unit separator, which none of them (table names, ids, field names,
    timestamps) contains, so two different lists never give the same bytes."""
    return "\x1f".join(str(p) for p in parts).encode()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    """A timestamp as whole microseconds since 1970 UTC: the same number however it was carried (an event's ISO
    text, a timestamptz column), so it can go into associated data."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def payee_binding(household_id: uuid.UUID | str, changed_at: datetime | int) -> bytes:
    """The associated data of a `payee.changed.v1` account: the household and the change's `changed_at` (its
    version). An older account of the same household, replayed as the current one, does not open under the
    current version's binding."""
    micros = changed_at if isinstance(changed_at, int) else epoch_micros(changed_at)
    return binding("payee.changed", household_id, micros)


@dataclass(frozen=True)
class SealingKey:
    algorithm: Algorithm
    secret: bytes


def parse_key(kid: str, text: str) -> SealingKey:
    """A key as its secret setting holds it: URL-safe base64, prefixed `sm4:` for SM4 (unprefixed or `aes:`:
    AES-256)."""
    algorithm: Algorithm = "AES-256-GCM"
    for prefix, alg in _PREFIXES.items():
        if text.startswith(prefix):
            algorithm, text = alg, text[len(prefix) :]
    secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(secret) != _KEY_BYTES[algorithm]:
        raise ValueError(f"sealing key {kid!r} must be {_KEY_BYTES[algorithm]} bytes ({algorithm}), got {len(secret)}")
    return SealingKey(algorithm, secret)


@dataclass(frozen=True)
class Keyring:
    """Key id → key; `current` seals, every key opens."""

    keys: dict[str, SealingKey]
    current: str
    # One cipher per key, made once: a bank file opens a million payees.
    _ciphers: dict[str, _Aead] = field(default_factory=dict, compare=False, repr=False)

    def _cipher(self, key_id: str) -> _Aead:
        if (cipher := self._ciphers.get(key_id)) is None:
            key = self.keys[key_id]
            cipher = self._ciphers[key_id] = _aead(key.algorithm, key.secret)
        return cipher

    @classmethod
    def from_settings(cls, keys: dict[str, str], current: str) -> Keyring:
        """Keys as URL-safe base64 strings (how secrets are stored in the environment)."""
        parsed = {kid: parse_key(kid, text) for kid, text in keys.items()}
        if current not in parsed:
            raise ValueError(f"current sealing key {current!r} is not among the keys")
        return cls(parsed, current)

    def algorithm(self, key_id: str | None = None) -> Algorithm:
        return self.keys[key_id or self.current].algorithm

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, str]:
        """Returns (key id, base64 of nonce + ciphertext + tag). The key id is bound into the associated data."""
        nonce = os.urandom(_NONCE)
        sealed = self._cipher(self.current).encrypt(nonce, plaintext, _with_key(associated, self.current))
        return self.current, base64.b64encode(nonce + sealed).decode()

    def open(self, key_id: str, sealed: str, associated: bytes) -> bytes:
        if key_id not in self.keys:
            raise SealingError(f"no sealing key {key_id!r}")
        raw = base64.b64decode(sealed)
        try:
            return self._cipher(key_id).decrypt(raw[:_NONCE], raw[_NONCE:], _with_key(associated, key_id))
        except InvalidTag as exc:
            raise SealingError("sealed value does not open (tampered, or another record's)") from exc

    def open_unbound_key(self, key_id: str, sealed: str, associated: bytes) -> bytes:
        """Open a value sealed before the key id was bound into the associated data (the payees payments stored
        then): for the migration that seals them again, nothing else."""
        raw = base64.b64decode(sealed)
        try:
            return self._cipher(key_id).decrypt(raw[:_NONCE], raw[_NONCE:], associated)
        except InvalidTag as exc:
            raise SealingError("sealed value does not open (tampered, or another record's)") from exc


def _with_key(associated: bytes, key_id: str) -> bytes:
    return associated + b"\x1e" + key_id.encode()


def new_key(profile: CryptoProfile = "standard") -> str:
    """A fresh key for the settings: `python -c 'from shared.sealing import new_key; print(new_key("gm"))'`."""
    algorithm = PROFILE_SEALING[profile]
    text = base64.urlsafe_b64encode(os.urandom(_KEY_BYTES[algorithm])).decode().rstrip("=")
    return text if algorithm == "AES-256-GCM" else "sm4:" + text


# Development only: services refuse them outside development (see `SealingSettings`). One key per profile.
DEV_SEALING_KEYS = {
    "dev-1": "ZGV2LW9ubHktcGF5ZWUtc2VhbGluZy1rZXktMzJieXQ",
    "dev-gm-1": "sm4:ZGV2LW9ubHktc200LWtleQ",
}
_DEV_KEY_OF_PROFILE = {"standard": "dev-1", "gm": "dev-gm-1"}


class SealingSettings(BaseModel):
    """The secret settings of a service that seals or opens personal data (INTAKE_/PAYMENTS_SEALING_KEYS as JSON,
    e.g. `{"2026-11": "<base64>", "gm-2027-01": "sm4:<base64>"}`, and *_SEALING_KEY_ID naming the one that seals;
    its algorithm must be the profile's)."""

    crypto_profile: CryptoProfile = "standard"
    sealing_keys: dict[str, str] = PydanticField(default_factory=lambda: dict(DEV_SEALING_KEYS))
    sealing_key_id: str = "dev-1"

    @model_validator(mode="after")
    def _current_key_of_the_profile(self) -> SealingSettings:
        if "sealing_key_id" not in self.model_fields_set:
            self.sealing_key_id = _DEV_KEY_OF_PROFILE[self.crypto_profile]
        ring = self.keyring()
        if ring.algorithm() != PROFILE_SEALING[self.crypto_profile]:
            raise ValueError(
                f"sealing_key_id {self.sealing_key_id!r} is an {ring.algorithm()} key; the {self.crypto_profile!r} "
                f"profile seals with {PROFILE_SEALING[self.crypto_profile]}"
            )
        return self

    def keyring(self) -> Keyring:
        return Keyring.from_settings(self.sealing_keys, self.sealing_key_id)

    def insecure_sealing(self) -> bool:
        return any(v in DEV_SEALING_KEYS.values() for v in self.sealing_keys.values())
