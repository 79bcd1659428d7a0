"""Who issues a user's calendar feed token: the user themselves, or an admin."""

from __future__ import annotations

from crm_sales.calendar_tokens import may_issue
from crm_shared.auth.principal import Principal, Role


def test_a_user_issues_their_own_token() -> None:
    assert may_issue(Principal("rita", Role.SALES_REP, ("sales",)), "rita")


def test_an_admin_issues_anyones_token() -> None:
    assert may_issue(Principal("ada", Role.ADMIN, ("sales",)), "rita")


def test_a_manager_does_not_issue_another_users_token() -> None:
    assert not may_issue(Principal("mia", Role.MANAGER, ("sales",)), "rita")


def test_another_rep_does_not_issue_a_users_token() -> None:
    assert not may_issue(Principal("rob", Role.SALES_REP, ("sales",)), "rita")


def test_an_api_key_is_no_user_even_when_its_id_is_the_users_name() -> None:
    key = Principal("rita", Role.SALES_REP, ("sales",), kind="api_key", name="sync")
    assert not may_issue(key, "rita")
