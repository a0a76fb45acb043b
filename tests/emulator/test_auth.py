"""Signature checks: the four headers, sha1(secret + nonce + timestamp), 1001 / 1004."""

from __future__ import annotations

import pytest

from rongpub.emulator import Emulator

from .helpers import APPS, KEY, SECRET, code, group_form, post, signed


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(APPS)


def test_a_documented_signature_vector_is_accepted(emulator: Emulator) -> None:
    # printf '%s' Ab3Xy9secret nonce123 1585127132438 | sha1sum
    headers = {
        "app-key": "k",
        "nonce": "nonce123",
        "timestamp": "1585127132438",
        "signature": "fe569791372bc8ce2078ed98354cda3821c858ef",
        "content-type": "application/x-www-form-urlencoded",
    }
    vector = Emulator({"k": "Ab3Xy9secret"})
    assert code(post(vector, group_form(), headers=headers)) == (200, 200)


@pytest.mark.parametrize("timestamp", ["1585127132", "1585127132438"])
def test_seconds_and_milliseconds_timestamps_are_accepted(
    emulator: Emulator, timestamp: str
) -> None:
    assert code(post(emulator, group_form(), headers=signed(timestamp=timestamp))) == (200, 200)


def test_rc_prefixed_headers_are_accepted(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(), headers=signed(prefix="RC-"))) == (200, 200)


def test_unknown_app_key_is_1001(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(), headers=signed("other", SECRET))) == (401, 1001)


def test_missing_app_key_is_1001(emulator: Emulator) -> None:
    headers = signed()
    del headers["app-key"]
    assert code(post(emulator, group_form(), headers=headers)) == (401, 1001)


def test_wrong_secret_is_1004(emulator: Emulator) -> None:
    assert code(post(emulator, group_form(), headers=signed(KEY, "wrong"))) == (401, 1004)


def test_signature_over_another_timestamp_is_1004(emulator: Emulator) -> None:
    headers = signed()
    headers["timestamp"] = "1585127132439"
    assert code(post(emulator, group_form(), headers=headers)) == (401, 1004)


def test_uppercase_hex_signature_is_1004(strict: Emulator) -> None:
    headers = signed()
    headers["signature"] = headers["signature"].upper()
    assert code(post(strict, group_form(), headers=headers)) == (401, 1004)


@pytest.mark.parametrize("missing", ["nonce", "timestamp", "signature"])
def test_missing_signing_header_is_1004(emulator: Emulator, missing: str) -> None:
    headers = signed()
    del headers[missing]
    assert code(post(emulator, group_form(), headers=headers)) == (401, 1004)


@pytest.mark.parametrize(
    "timestamp", ["158512713", "15851271324", "2020-03-25", "１５８５１２７１３２"]
)
def test_timestamp_neither_seconds_nor_milliseconds_is_1004(
    emulator: Emulator, timestamp: str
) -> None:
    assert code(post(emulator, group_form(), headers=signed(timestamp=timestamp))) == (401, 1004)


def test_nonce_longer_than_18_characters_is_1004(strict: Emulator) -> None:
    assert code(post(strict, group_form(), headers=signed(nonce="n" * 19))) == (401, 1004)
    assert code(post(strict, group_form(), headers=signed(nonce="n" * 18))) == (200, 200)


def test_each_configured_app_is_checked_with_its_own_secret() -> None:
    emulator = Emulator({"a": "secret-a", "b": "secret-b"})
    assert code(post(emulator, group_form(), headers=signed("b", "secret-b"))) == (200, 200)
    assert code(post(emulator, group_form(), headers=signed("b", "secret-a"))) == (401, 1004)
    assert emulator.records[0].app_key == "b"


def test_the_secret_stays_out_of_the_repr(emulator: Emulator) -> None:
    assert SECRET not in repr(emulator)
    assert KEY in repr(emulator)
