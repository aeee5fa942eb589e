"""Errors a user can act on: each message names the file or parameter and what to do."""


class MaskLabError(Exception):
    """Base of all errors that are shown to the user as one clear line."""


class DataError(MaskLabError):
    """The data directory, a data file or a label is not what the spec says."""


class ConfigError(MaskLabError):
    """A parameter, config key or config file is invalid."""
