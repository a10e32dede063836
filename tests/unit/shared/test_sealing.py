"""Sealing and fingerprints in both crypto profiles, checked against the standards' own test vectors (GB/T 32907
SM4, GB/T 32905 SM3, RFC 8998's SM4-GCM example) and an RFC 2104 HMAC built here from the bare hash."""

from __future__ import annotations

import base64
import hashlib
import hmac as std_hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import ValidationError

from services.intake.config import Settings as IntakeSettings
from services.monitoring.config import Settings as MonitoringSettings
from shared.core.identity import fingerprinter, id_fingerprint
from shared.sealing import SM4GCM, Keyring, SealingError, binding, new_key, parse_key

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm4_block_cipher_matches_gb_t_32907_example_1():
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    assert (encryptor.update(SM4_KEY) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm3_matches_gb_t_32905_examples():
    assert hashlib.new("sm3", b"abc").hexdigest() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert hashlib.new("sm3", b"abcd" * 16).hexdigest() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )
    digest = hashes.Hash(hashes.SM3())  # the same through `cryptography`, which the sealing module uses
    digest.update(b"abcd" * 16)
    assert digest.finalize().hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm4_gcm_matches_rfc_8998_example():
    # RFC 8998 appendix A.1 (SM4-GCM as TLS 1.3 uses it): key, IV, AAD, plaintext → ciphertext and tag.
    iv = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plain = bytes.fromhex("".join(c * 16 for c in "ABCDEFEA"))
    expected = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    cipher = SM4GCM(SM4_KEY)
    assert cipher.encrypt(iv, plain, aad) == expected
    assert cipher.decrypt(iv, expected, aad) == plain
    with pytest.raises(Exception):  # noqa: B017 (InvalidTag)
        cipher.decrypt(iv, expected, aad + b"x")


def _rfc2104(hash_name: str, key: bytes, message: bytes) -> str:
    """HMAC from its definition over the bare hash: an independent model of both fingerprinters."""
    block = hashlib.new(hash_name).block_size
    key = key.ljust(block, b"\0")
    inner = hashlib.new(hash_name, bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.new(hash_name, bytes(b ^ 0x5C for b in key) + inner).hexdigest()


@pytest.mark.parametrize(("profile", "hash_name"), [("standard", "sha256"), ("gm", "sm3")])
def test_fingerprints_are_hmac_of_the_profiles_hash(profile, hash_name):
    key, number = b"a-fingerprint-key-of-32-bytes!!!", "61062619620415001x "
    expected = _rfc2104(hash_name, key, b"61062619620415001X")
    assert id_fingerprint(number, key, profile) == expected
    assert fingerprinter(key, profile)(number) == expected


def test_hmac_sm3_agrees_with_cryptography_and_differs_from_sha256():
    key = b"a-fingerprint-key-of-32-bytes!!!"
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(b"610626196204150016")
    assert id_fingerprint("610626196204150016", key, "gm") == mac.finalize().hex()
    assert id_fingerprint("610626196204150016", key, "gm") != id_fingerprint("610626196204150016", key)
    assert id_fingerprint("x", key) == std_hmac.new(key, b"X", "sha256").hexdigest()


@pytest.mark.parametrize("profile", ["standard", "gm"])
def test_a_sealed_value_opens_only_with_its_own_binding_and_key_id(profile):
    kid = f"{profile}-1"
    ring = Keyring.from_settings({kid: new_key(profile)}, kid)
    assert ring.algorithm() == {"standard": "AES-256-GCM", "gm": "SM4-GCM"}[profile]
    where = binding("intake.members", "m-1", "id_number")
    key_id, sealed = ring.seal(b"610626196204150016", where)
    assert key_id == kid and ring.open(key_id, sealed, where) == b"610626196204150016"
    for other in (binding("intake.members", "m-2", "id_number"), binding("intake.households", "m-1", "id_number")):
        with pytest.raises(SealingError):
            ring.open(key_id, sealed, other)
    # The key id is bound too: the same bytes under another id of the same secret do not open.
    twin = Keyring(
        {kid: ring.keys[kid], "alias": ring.keys[kid]},
        kid,
    )
    with pytest.raises(SealingError):
        twin.open("alias", sealed, where)
    tampered = base64.b64encode(bytes([base64.b64decode(sealed)[0] ^ 1]) + base64.b64decode(sealed)[1:]).decode()
    with pytest.raises(SealingError):
        ring.open(key_id, tampered, where)


def test_a_keyring_holds_keys_of_both_profiles_while_moving_from_one_to_the_other():
    old = Keyring.from_settings({"2026-01": new_key()}, "2026-01")
    kid, sealed = old.seal(b"6222020200001234567", b"h")
    moving = Keyring.from_settings({"2026-01": _text(old, "2026-01"), "gm-2027": new_key("gm")}, "gm-2027")
    assert moving.open(kid, sealed, b"h") == b"6222020200001234567"
    new_kid, resealed = moving.seal(moving.open(kid, sealed, b"h"), b"h")
    assert (new_kid, moving.algorithm(new_kid)) == ("gm-2027", "SM4-GCM")
    assert moving.open(new_kid, resealed, b"h") == b"6222020200001234567"


def _text(ring: Keyring, kid: str) -> str:
    return base64.urlsafe_b64encode(ring.keys[kid].secret).decode()


def test_keys_are_checked_for_their_algorithms_length():
    assert parse_key("a", new_key("gm")).algorithm == "SM4-GCM"
    assert parse_key("a", "aes:" + new_key()).algorithm == "AES-256-GCM"
    with pytest.raises(ValueError, match="16 bytes"):
        parse_key("a", "sm4:" + new_key())
    with pytest.raises(ValueError, match="32 bytes"):
        parse_key("a", new_key("gm")[4:])


def test_the_profile_is_chosen_per_deployment_and_its_current_key_must_match(monkeypatch):
    assert IntakeSettings().keyring().algorithm() == "AES-256-GCM"
    monkeypatch.setenv("INTAKE_CRYPTO_PROFILE", "gm")
    gm = IntakeSettings()
    assert gm.crypto_profile == "gm" and gm.keyring().algorithm() == "SM4-GCM"
    monkeypatch.setenv("INTAKE_SEALING_KEY_ID", "dev-1")
    with pytest.raises(ValidationError, match="seals with SM4-GCM"):
        IntakeSettings()


def test_services_matching_on_fingerprints_agree_only_on_the_same_profile(monkeypatch):
    number = "610626196204150016"
    monkeypatch.setenv("INTAKE_CRYPTO_PROFILE", "gm")
    monkeypatch.setenv("MONITORING_CRYPTO_PROFILE", "gm")
    assert IntakeSettings().id_fingerprinter()(number) == MonitoringSettings().id_fingerprinter()(number)
    monkeypatch.setenv("MONITORING_CRYPTO_PROFILE", "standard")
    assert IntakeSettings().id_fingerprinter()(number) != MonitoringSettings().id_fingerprinter()(number)
