"""The password policy (issue 11): long, not trivial, not common."""

import pytest


@pytest.mark.parametrize(
    "password, message",
    [
        ("short-pass1", "at least 12 characters"),
        (" " * 12, "one character repeated or only spaces"),
        ("a" * 14, "one character repeated or only spaces"),
        ("Password1234", "most common"),
    ],
)
def test_the_password_policy_refuses_weak_passwords(password, message):
    from dashboard.users import UserError, check_password

    with pytest.raises(UserError, match=message):
        check_password(password)
    check_password("a-long-enough-phrase")  # a good one passes
