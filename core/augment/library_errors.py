"""Albumentations is the judge of what a transform accepts; this turns its refusals into our errors.

The library wraps its pydantic report in a ValueError; `library_call` turns that into a `StepError`
with one line per parameter, under the step's name as the editor numbers it.
"""
from __future__ import annotations

import warnings

import pydantic

from core.errors import ConfigError

ACROSS = ""  # the key of a rule across arguments (x_max > x_min), which no single widget owns


class StepError(ConfigError):
    """A step the library refuses: `problems` maps each parameter (or ACROSS) to one line about it."""

    def __init__(self, where: str, problems: dict[str, str], shown: dict[str, str] | None = None):
        self.where, self.problems = where, problems
        self.shown = shown or {}  # a problem in the session's language where ours has one (a Param's range)
        super().__init__(f"{where}: " + "; ".join(problems.values()))

    def line(self, name: str) -> str:
        """The problem with one parameter, as shown under its widget: 'step 1 (Resize): height: ...'."""
        return f"{self.where}: {self.shown.get(name, self.problems[name])}"


def library_call(make, where: str):
    """Run a library constructor; its validation errors become one StepError under `where`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "ShiftScaleRotate is a special case of Affine"
        try:
            return make()
        except ValueError as error:  # Albumentations wraps its pydantic ValidationError in a ValueError
            raise StepError(where, library_problems(error)) from None


def library_problems(error: ValueError) -> dict[str, str]:
    """{parameter: 'parameter: what is wrong'} from the library's pydantic report."""
    cause = error.__cause__
    if not isinstance(cause, pydantic.ValidationError):
        return {ACROSS: str(error)}
    problems: dict[str, str] = {}
    for problem in cause.errors(include_url=False, include_input=False):
        name = str(problem["loc"][0]) if problem["loc"] else ACROSS
        message = problem["msg"].removeprefix("Value error, ")
        problems.setdefault(name, f"{name}: {message}" if name else message)  # a union reports each option
    return problems
