"""Refusals over HTTP: each kind of domain error has one status, decided in one place."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import crm_contacts
import crm_shared
from crm_shared.domain import (
    REFUSALS,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from crm_shared.http.problems import domain_problem


def _every_module_of(package: object) -> None:
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):  # type: ignore[attr-defined]
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)


def _subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found))


def test_every_domain_error_is_a_kind_of_refusal_and_carries_no_status() -> None:
    _every_module_of(crm_shared)
    _every_module_of(crm_contacts)
    errors = {
        error
        for error in _subclasses(DomainError) - set(REFUSALS)
        if error.__module__.startswith(("crm_shared.", "crm_contacts."))
    }
    assert errors, "the walk finds the domain errors"
    for error in errors:
        assert issubclass(error, REFUSALS), error
        assert not hasattr(error, "status"), error


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (NotFound, 404),
        (Forbidden, 403),
        (Conflict, 409),
        (Gone, 410),
        (Invalid, 422),
        (PreconditionFailed, 412),
    ],
)
def test_each_kind_of_refusal_is_answered_with_its_status(
    refusal: type[DomainError], status: int
) -> None:
    problem = domain_problem(refusal("no"))
    assert (problem.status, problem.code, problem.detail) == (status, refusal.code, "no")


def test_a_refusal_keeps_its_own_code() -> None:
    class Archived(Conflict):
        code = "archived"

    assert (domain_problem(Archived("x")).status, domain_problem(Archived("x")).code) == (
        409,
        "archived",
    )


def test_an_invalid_command_names_its_field_as_validation_names_a_body_field() -> None:
    problem = domain_problem(Invalid("a department is required", field="department"))
    assert problem.errors == [
        {
            "field": "body.department",
            "message": "a department is required",
            "type": "validation_error",
        }
    ]


def test_a_domain_error_of_no_kind_is_a_bug_answered_as_one() -> None:
    class Unclassified(DomainError):
        pass

    assert domain_problem(Unclassified("?")).status == 500
