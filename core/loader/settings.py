"""The Loader page's settings between pages: where they live in session state, and how a recommendation merges in.

The Loader page stores its last valid settings under LOADER_CONFIG_KEY and the names of those the user
changed under LOADER_CHOSEN_KEY; any other page (Training) reads the chosen ones with
`loader_choices_from_session(st.session_state)` instead of knowing the keys or the format.
"""
from __future__ import annotations

from core.errors import ConfigError
from core.loader.config import LoaderConfig
from core.params import section_from_dict, section_to_dict

LOADER_CONFIG_KEY = "loader_config"  # a dict of the `loader` section (section_to_dict), validated
LOADER_CHOSEN_KEY = "loader_chosen"  # names of the settings the user changed or applied there
# What the sweep measures and therefore may recommend, in the order it is shown; every other setting
# (decode included: the sweep never compares full and draft decoding) stays the user's. decoder is the
# faster of Pillow and OpenCV where their pixels agree; pin_memory and persistent_workers are recommended
# only in a sweep that measured them (CUDA; worker processes).
RECOMMENDED_KEYS = ("num_workers", "batch_size", "cache", "decoder", "pin_memory", "persistent_workers")
# Settings that only mean something with worker processes (validation rejects them with 0 workers).
WORKER_ONLY = {"persistent_workers": False, "prefetch_factor": None, "timeout": 0.0}


def loader_config_from_session(session_state) -> LoaderConfig | None:
    """The Loader page's current settings, or None if the page has not stored any (or they no longer parse)."""
    stored = session_state.get(LOADER_CONFIG_KEY)
    if stored is None:
        return None
    if isinstance(stored, LoaderConfig):
        return stored
    try:
        return section_from_dict(LoaderConfig, stored, "loader.")
    except ConfigError:  # a session from an older version of the page: fall back to the config file
        return None


def store_loader_config(session_state, config: LoaderConfig) -> None:
    """Publish validated settings for the other pages (as a plain dict, like the YAML section).

    A setting counts as the user's choice once it differs from what the page last showed (a widget
    moved, the recommendation applied); the page's first draw, from LoaderConfig's defaults, chooses nothing.
    """
    current = section_to_dict(config)
    last = session_state.get(LOADER_CONFIG_KEY)
    chosen = set(session_state.get(LOADER_CHOSEN_KEY, ()))
    if isinstance(last, dict):
        chosen |= {name for name, value in current.items() if last.get(name) != value}
    session_state[LOADER_CONFIG_KEY] = current
    session_state[LOADER_CHOSEN_KEY] = sorted(chosen)


def loader_choices_from_session(session_state) -> dict:
    """Only the settings the user chose or applied on the Loader page: {name: value}; {} when none.

    What travels to the Training page: the Loader page's untouched defaults (batch_size 64) must not
    replace the starting config's values (batch_size 32) behind the user's back.
    """
    config = loader_config_from_session(session_state)
    if config is None:
        return {}
    settings = section_to_dict(config)
    return {name: settings[name] for name in session_state.get(LOADER_CHOSEN_KEY, ()) if name in settings}


def apply_recommended(settings: dict, recommended: dict) -> dict:
    """`settings` with the sweep's measured choices taken over; worker-only settings cleared for 0 workers."""
    merged = {**settings, **{key: recommended[key] for key in RECOMMENDED_KEYS if key in recommended}}
    if merged.get("num_workers") == 0:
        merged.update(WORKER_ONLY)
    return merged


def sampler_decides_order(settings: dict) -> tuple[dict, str | None]:
    """`settings` with shuffle off where a sampler or a batch_sampler decides the order, and a line saying
    so (None when nothing changed): DataLoader refuses shuffle beside either."""
    if not settings.get("shuffle"):
        return settings, None
    from core.i18n import t

    if settings.get("sampler", "none") != "none":
        why = t("loader.shuffle_off_sampler", sampler=settings["sampler"])
    elif settings.get("batch_sampler"):
        why = t("loader.shuffle_off_batch_sampler")
    else:
        return settings, None
    return {**settings, "shuffle": False}, t("loader.shuffle_off", why=why)
