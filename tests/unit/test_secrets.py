"""Secret values in the shapes operators store them: plain text or the console's key/value JSON."""

from __future__ import annotations

import pytest

from backend.adapters.secrets import SecretMisconfigured, secret_value


@pytest.mark.parametrize(
    ("stored", "value"),
    [
        ("xoxb-123", "xoxb-123"),
        ("xoxb-123\n", "xoxb-123"),  # written from a file with its newline
        ('{"value": "xoxb-123"}', "xoxb-123"),
        ('{"token": "ghp_abc"}', "ghp_abc"),  # the console's key/value editor, one pair
        ('{"value": "s3cr3t", "rotated_at": "2026-11-01"}', "s3cr3t"),
    ],
    ids=["plain", "trailing-newline", "value-key", "single-key", "value-among-others"],
)
def test_a_secret_is_read_as_plain_text_or_a_json_object(stored: str, value: str):
    assert secret_value("rds-provisioner/slack-bot-token", stored) == value


@pytest.mark.parametrize(
    ("stored", "names"),
    [
        ('{"token": "a", "signing_secret": "b"}', "keys [signing_secret, token]"),
        ('{"value": 42}', "keys [value]"),
        ('{"value": ""}', "keys [value]"),
        ("{}", "keys [none]"),
        ("{not json", "not valid JSON"),
        ("   ", "is empty"),
    ],
    ids=["two-keys", "not-a-string", "empty-value", "empty-object", "broken-json", "blank"],
)
def test_a_secret_of_the_wrong_shape_is_a_clear_error_naming_it_and_never_its_value(stored: str, names: str):
    with pytest.raises(SecretMisconfigured) as caught:
        secret_value("rds-provisioner/github-webhook-secret", stored)

    message = caught.value.message
    assert "rds-provisioner/github-webhook-secret" in message
    assert names in message
    assert '"b"' not in message
    assert "42" not in message
