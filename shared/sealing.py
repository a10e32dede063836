"""Sealing sensitive fields for transport and storage (AES-GCM, `cryptography`).

A sealed value carries the id of the key that sealed it, so keys can rotate: a service holds every key it may still
need to open (its secret settings), and seals new values with the current one. The associated data binds a sealed
value to what it is about (e.g. the household id), so a ciphertext copied onto another record fails to open."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel
from pydantic import Field as PydanticField

_NONCE = 12


class SealingError(ValueError):
    """A sealed value could not be opened: unknown key id, tampered ciphertext, or wrong associated data."""


@dataclass(frozen=True)
class Keyring:
    """Key id → 256-bit key; `current` seals, every key opens."""

    keys: dict[str, bytes]
    current: str
    # One cipher per key, made once: a bank file opens a million payees.
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    def _cipher(self, key_id: str) -> AESGCM:
        if (cipher := self._ciphers.get(key_id)) is None:
            cipher = self._ciphers[key_id] = AESGCM(self.keys[key_id])
        return cipher

    @classmethod
    def from_settings(cls, keys: dict[str, str], current: str) -> Keyring:
        """Keys as URL-safe base64 strings (how secrets are stored in the environment)."""
        decoded = {kid: base64.urlsafe_b64decode(k + "=" * (-len(k) % 4)) for kid, k in keys.items()}
        for kid, key in decoded.items():
            if len(key) != 32:
                raise ValueError(f"sealing key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
        if current not in decoded:
            raise ValueError(f"current sealing key {current!r} is not among the keys")
        return cls(decoded, current)

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, str]:
        """Returns (key id, base64 of nonce + ciphertext)."""
        nonce = os.urandom(_NONCE)
        sealed = self._cipher(self.current).encrypt(nonce, plaintext, associated)
        return self.current, base64.b64encode(nonce + sealed).decode()

    def open(self, key_id: str, sealed: str, associated: bytes) -> bytes:
        if key_id not in self.keys:
            raise SealingError(f"no sealing key {key_id!r}")
        raw = base64.b64decode(sealed)
        try:
            return self._cipher(key_id).decrypt(raw[:_NONCE], raw[_NONCE:], associated)
        except InvalidTag as exc:
            raise SealingError("sealed value does not open (tampered, or another record's)") from exc


def new_key() -> str:
    """A fresh key for the settings: `python -c 'from shared.sealing import new_key; print(new_key())'`."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")


# Development only: services refuse it outside development (see `SealingSettings`).
DEV_SEALING_KEYS = {"dev-1": "ZGV2LW9ubHktcGF5ZWUtc2VhbGluZy1rZXktMzJieXQ"}


class SealingSettings(BaseModel):
    """The secret settings of a service that seals or opens payee facts (INTAKE_/PAYMENTS_SEALING_KEYS as JSON,
    e.g. `{"2026-11": "<base64>"}`, and *_SEALING_KEY_ID naming the one that seals)."""

    sealing_keys: dict[str, str] = PydanticField(default_factory=lambda: dict(DEV_SEALING_KEYS))
    sealing_key_id: str = "dev-1"

    def keyring(self) -> Keyring:
        return Keyring.from_settings(self.sealing_keys, self.sealing_key_id)

    def insecure_sealing(self) -> bool:
        return any(v in DEV_SEALING_KEYS.values() for v in self.sealing_keys.values())
