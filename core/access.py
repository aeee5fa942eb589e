"""Who may use the app: anyone on this machine; on a network, only whoever knows the shared password.

Streamlit's server.address decides. 127.0.0.1 (the default in .streamlit/config.toml), localhost and ::1 serve
this machine only; any other address, or none (Streamlit then listens on every interface), exposes the app. An
exposed app lets a visitor start training on this machine's CPU/GPU and write files under the app's folders, so
it shows no page until the visitor gives the password set in $MASKLAB_PASSWORD or in the file named by
$MASKLAB_PASSWORD_FILE, and with no password set it shows no page at all.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import streamlit as st

from core.errors import ConfigError
from core.i18n import localized_error, t

PASSWORD_ENV = "MASKLAB_PASSWORD"
PASSWORD_FILE_ENV = "MASKLAB_PASSWORD_FILE"
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")
REPO_ROOT = Path(__file__).resolve().parents[1]
GRANTED_KEY = "access_granted"  # a digest of the password given: changing the password signs everyone out
PASSWORD_KEY = "access_password"
FAILED_KEY = "access_failed"


def served_address() -> str:
    """The address Streamlit serves on ('' when unset: every interface)."""
    return str(st.get_option("server.address") or "").strip()


def is_exposed(address: str) -> bool:
    """Whether a server on `address` can be reached from other machines."""
    return address.strip("[]").lower() not in LOCAL_ADDRESSES


def configured_password() -> str | None:
    """The shared password: the file named by $MASKLAB_PASSWORD_FILE, else $MASKLAB_PASSWORD; None when neither.

    ConfigError when the file cannot be read, is empty, or lies in the app's folder (where it could be committed).
    """
    file = os.environ.get(PASSWORD_FILE_ENV, "").strip()
    if file:
        path = Path(file).expanduser()
        if path.resolve().is_relative_to(REPO_ROOT):
            raise ConfigError.of("access.errors.file_inside", env=PASSWORD_FILE_ENV, file=file, folder=REPO_ROOT)
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError.of("access.errors.file_unreadable", env=PASSWORD_FILE_ENV, file=file,
                                 reason=error.strerror) from None
        if not password:
            raise ConfigError.of("access.errors.file_empty", env=PASSWORD_FILE_ENV, file=file)
        return password
    return os.environ.get(PASSWORD_ENV) or None


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def password_matches(typed: str, password: str) -> bool:
    """Constant-time comparison: the time taken does not tell how much of a guess was right."""
    return hmac.compare_digest(typed.encode(), password.encode())


def access_granted() -> bool:
    """The pages may be shown to this browser session: the app is local, or the password was given."""
    if not is_exposed(served_address()):
        return True
    try:
        password = configured_password()
    except ConfigError:
        return False
    granted = st.session_state.get(GRANTED_KEY)
    return bool(password and granted) and hmac.compare_digest(str(granted), _digest(password))


def _check_typed_password() -> None:
    typed = st.session_state.get(PASSWORD_KEY) or ""
    st.session_state[PASSWORD_KEY] = ""  # the typed text is not kept in the session
    try:
        password = configured_password()
    except ConfigError:
        return
    if password and typed and password_matches(typed, password):
        st.session_state[GRANTED_KEY] = _digest(password)
        st.session_state[FAILED_KEY] = False
    else:
        st.session_state[FAILED_KEY] = bool(typed)


def sign_in() -> None:
    """The only page of an exposed app before the password is given; a refusal when no password is set."""
    st.title("Mask Lab")
    address = served_address() or t("access.every_interface")
    try:
        password = configured_password()
    except ConfigError as error:
        st.error(localized_error(error))
        return
    if password is None:
        st.error(t("access.no_password", address=address, env=PASSWORD_ENV, file_env=PASSWORD_FILE_ENV))
        return
    st.caption(t("access.caption", address=address))
    st.text_input(t("access.password"), type="password", key=PASSWORD_KEY, on_change=_check_typed_password)
    st.button(t("access.enter"), key="access_enter", on_click=_check_typed_password)
    if st.session_state.get(FAILED_KEY):
        st.error(t("access.wrong"))


def require_access() -> None:
    """Show the sign-in instead of the calling page (and end its run) unless access_granted().

    app.py checks first; pages call this too because Streamlit runs a page named in the URL without app.py when
    it is the server's first run (its pages/ folder fallback), which would skip app.py's check.
    """
    if not access_granted():
        sign_in()
        st.stop()
