"""Errors a user can act on: each message names the file or parameter and what to do.

`ConfigError.of("errors.params.below_min", label="optim.lr", ...)` raises with words from the catalogue
(locales/<language>/errors.yaml): English in the message (CLI, logs), the session's language on a page
(core.i18n.localized_error). A plain `ConfigError("...")` is English everywhere.
"""


class MaskLabError(Exception):
    """Base of all errors that are shown to the user as one clear line."""

    key: str | None = None
    values: dict = {}

    @classmethod
    def of(cls, catalogue_key: str, /, **values):
        """An error whose words come from the catalogue under `catalogue_key`, formatted with `values`
        (positional-only, so that a template may name a placeholder `key` too)."""
        from core.i18n import DEFAULT_LANGUAGE, text
        error = cls(text(DEFAULT_LANGUAGE, catalogue_key, **values))
        error.key, error.values = catalogue_key, values
        return error


class DataError(MaskLabError):
    """The data directory, a data file or a label is not what the spec says."""


class ConfigError(MaskLabError):
    """A parameter, config key or config file is invalid."""
