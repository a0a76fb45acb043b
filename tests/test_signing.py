import re

from rongpub._signing import Credentials, signature


def test_signature_matches_a_vector_computed_with_sha1sum() -> None:
    # printf '%s' Ab3Xy9secret nonce123 1585127132438 | sha1sum
    assert signature("Ab3Xy9secret", "nonce123", "1585127132438") == (
        "fe569791372bc8ce2078ed98354cda3821c858ef"
    )


def test_headers_use_milliseconds_and_a_short_random_nonce() -> None:
    credentials = Credentials("key", "Ab3Xy9secret", clock=lambda: 1585127132.438)
    first, second = credentials.headers(), credentials.headers()
    assert first["App-Key"] == "key"
    assert first["Timestamp"] == "1585127132438"
    assert re.fullmatch(r"[0-9a-f]{1,18}", first["Nonce"])
    assert first["Nonce"] != second["Nonce"]
    assert first["Signature"] == signature("Ab3Xy9secret", first["Nonce"], "1585127132438")


def test_the_secret_stays_out_of_the_repr() -> None:
    assert "Ab3Xy9secret" not in repr(Credentials("key", "Ab3Xy9secret"))
