"""The app served on a network: the password gate before any page, and errors ending a page as one line."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from core import access
from tests.pages.conftest import APP, REPO_ROOT, all_text, assert_no_exception, page_path

PAGES = sorted(path.name for path in (REPO_ROOT / "pages").glob("*.py"))
PASSWORD = "correct horse battery staple"


@pytest.fixture
def served_on():
    """Set Streamlit's server.address as `streamlit run --server.address` would; restored afterwards."""
    before = config.get_option("server.address")
    yield lambda address: config.set_option("server.address", address)
    config.set_option("server.address", before)


@pytest.fixture
def no_password(monkeypatch):
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    monkeypatch.delenv(access.PASSWORD_FILE_ENV, raising=False)


def app(data_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("MASKLAB_DEMO_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["data_dir"] = str(data_dir)
    return at


def shows_home(at: AppTest) -> bool:
    return any(metric.label == "Train images" for metric in at.metric)


def test_only_loopback_addresses_are_private():
    for address in ("127.0.0.1", "localhost", "LOCALHOST", "::1", "[::1]"):
        assert not access.is_exposed(address), address
    for address in ("0.0.0.0", "", "::", "192.168.1.20", "10.0.0.5", "my-laptop.local", "127.0.0.2"):
        assert access.is_exposed(address), address
    assert access.password_matches(PASSWORD, PASSWORD)
    assert not access.password_matches(PASSWORD[:-1], PASSWORD) and not access.password_matches("", PASSWORD)


def test_the_repository_config_serves_this_machine_only():
    text = (REPO_ROOT / ".streamlit" / "config.toml").read_text()
    assert 'address = "127.0.0.1"' in text
    assert "--server.address $(HOST)" in (REPO_ROOT / "Makefile").read_text()


def test_a_local_app_shows_its_pages_without_a_password(demo_data_dir, monkeypatch, served_on, no_password):
    served_on("127.0.0.1")
    at = app(demo_data_dir, monkeypatch).run()
    assert_no_exception(at)
    assert shows_home(at)
    assert access.PASSWORD_KEY not in [widget.key for widget in at.text_input]


@pytest.mark.parametrize("address", ["0.0.0.0", None, "192.168.1.20"])
def test_an_exposed_app_without_a_password_shows_no_page(demo_data_dir, monkeypatch, served_on, no_password, address):
    served_on(address)
    at = app(demo_data_dir, monkeypatch).run()
    assert_no_exception(at)
    assert not shows_home(at) and not at.text_input
    assert len(at.error) == 1 and access.PASSWORD_ENV in at.error[0].value and "\n" not in at.error[0].value
    with pytest.raises(ValueError, match="Known pages: \\['Sign in'\\]"):
        at.switch_page("pages/4_Training.py")  # no other page is registered


def test_the_password_opens_the_pages_and_a_wrong_one_does_not(demo_data_dir, monkeypatch, served_on, no_password):
    served_on("0.0.0.0")
    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)
    at = app(demo_data_dir, monkeypatch).run()
    assert_no_exception(at)
    assert not shows_home(at) and "0.0.0.0" in all_text(at)
    at.text_input(key=access.PASSWORD_KEY).input("guess").run()
    assert not shows_home(at) and [e.value for e in at.error] == ["Wrong password."]
    at.text_input(key=access.PASSWORD_KEY).input(PASSWORD)
    at.button(key="access_enter").click().run()
    assert_no_exception(at)
    assert shows_home(at) and not at.error
    assert at.session_state[access.PASSWORD_KEY] == ""  # the typed password is not kept
    assert PASSWORD not in str(at.session_state[access.GRANTED_KEY])
    at.switch_page("pages/1_Data.py").run()
    assert_no_exception(at)
    assert "Data" in [title.value for title in at.title]
    monkeypatch.setenv(access.PASSWORD_ENV, "a new password")  # a changed password signs everyone out
    at.run()
    assert not at.title or "Data" not in [title.value for title in at.title]
    assert at.text_input(key=access.PASSWORD_KEY)


def test_a_page_named_in_the_first_run_is_gated_too(demo_data_dir, monkeypatch, served_on, no_password):
    # Streamlit's first run in a process runs a page named in the URL through its pages/ folder fallback,
    # without app.py: the page itself asks for the gate.
    served_on("0.0.0.0")
    at = app(demo_data_dir, monkeypatch)
    at.switch_page("pages/5_Runs.py").run()
    assert_no_exception(at)
    assert "Runs" not in [title.value for title in at.title]
    assert len(at.error) == 1 and access.PASSWORD_ENV in at.error[0].value


@pytest.mark.parametrize("name", PAGES)
def test_every_page_run_alone_is_gated(name, demo_data_dir, served_on, no_password, tmp_path, monkeypatch):
    served_on("0.0.0.0")
    monkeypatch.setenv("MASKLAB_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(page_path(name), default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.run()
    assert_no_exception(at)
    assert [title.value for title in at.title] == ["Mask Lab"]  # the sign-in's, not the page's
    assert len(at.error) == 1 and access.PASSWORD_ENV in at.error[0].value
    assert not (tmp_path / "runs").exists()


def test_password_file_outside_the_repository(demo_data_dir, monkeypatch, served_on, no_password, tmp_path):
    served_on("0.0.0.0")
    secret = tmp_path / "masklab-password"
    secret.write_text(PASSWORD + "\n")
    monkeypatch.setenv(access.PASSWORD_FILE_ENV, str(secret))
    at = app(demo_data_dir, monkeypatch).run()
    at.text_input(key=access.PASSWORD_KEY).input(PASSWORD).run()
    assert_no_exception(at)
    assert shows_home(at)

    for path, words in ((REPO_ROOT / "configs" / "demo.yaml", "outside the app's folder"),
                        (tmp_path / "missing", "cannot be read"), (tmp_path / "empty", "empty")):
        if path.name == "empty":
            path.write_text("\n")
        monkeypatch.setenv(access.PASSWORD_FILE_ENV, str(path))
        at = app(demo_data_dir, monkeypatch).run()
        assert_no_exception(at)
        assert not shows_home(at) and not at.text_input
        assert len(at.error) == 1 and words in at.error[0].value and str(path) in at.error[0].value


# ----- errors at the page edge ----------------------------------------------------------------------------
def failing_app():
    """A navigation of pages that fail in each way, run through the app's page edge."""
    import streamlit as st

    from core.errors import ConfigError
    from core.ui import run_page

    def ours():
        st.write("before")
        raise ConfigError("loader.batch_size: must be at least 1;\nset it on the Loader page")

    def theirs():
        {}["missing key"]

    def stops():
        st.write("stopped here")
        st.stop()

    def switches():
        if st.session_state.get("switched"):
            st.write("switched")
        else:
            st.session_state["switched"] = True
            st.rerun()

    chosen = st.session_state.get("chosen", "ours")
    pages = {name: st.Page(function, title=name, default=name == chosen)
             for name, function in (("ours", ours), ("theirs", theirs), ("stops", stops), ("switches", switches))}
    run_page(st.navigation(list(pages.values())))


def run_failing(chosen: str) -> AppTest:
    at = AppTest.from_function(failing_app, default_timeout=30)
    at.session_state["chosen"] = chosen
    return at.run()


def test_our_errors_end_the_page_as_one_line():
    at = run_failing("ours")
    assert_no_exception(at)
    assert [e.value for e in at.error] == ["loader.batch_size: must be at least 1; set it on the Loader page"]
    assert [m.value for m in at.markdown] == ["before"]


def test_other_errors_show_their_type_and_go_to_the_server_log(capfd):
    at = run_failing("theirs")
    assert_no_exception(at)
    assert [e.value for e in at.error] == ["KeyError: 'missing key' (details in the server log)"]
    log = capfd.readouterr().err
    assert "Traceback (most recent call last)" in log and "KeyError: 'missing key'" in log and "theirs" in log


def test_streamlit_control_flow_passes_through():
    at = run_failing("stops")
    assert_no_exception(at)
    assert not at.error and [m.value for m in at.markdown] == ["stopped here"]
    at = run_failing("switches")
    assert_no_exception(at)
    assert not at.error and [m.value for m in at.markdown] == ["switched"]


def test_an_unexpected_error_in_a_real_page_is_one_line(demo_data_dir, monkeypatch, served_on, capfd):
    served_on("127.0.0.1")
    at = app(demo_data_dir, monkeypatch)
    at.session_state["data_dir"] = 5  # a broken session value: the home page fails on it (not a MaskLabError)
    at.run()
    assert_no_exception(at)
    assert len(at.error) >= 1 and at.error[-1].value.endswith("(details in the server log)")
    assert "\n" not in at.error[-1].value and "Traceback" in capfd.readouterr().err


# ----- in Korean (issue #16) ------------------------------------------------------------------------------
def korean(key: str, **values) -> str:
    from core.i18n import text
    return text("ko", key, **values)


def test_the_sign_in_page_in_korean(demo_data_dir, monkeypatch, served_on, no_password, tmp_path):
    served_on("0.0.0.0")
    at = app(demo_data_dir, monkeypatch)
    at.query_params["lang"] = "ko"  # a link to the app in Korean
    at.run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [korean("access.no_password", address="0.0.0.0", env=access.PASSWORD_ENV,
                                                  file_env=access.PASSWORD_FILE_ENV)]
    assert at.error[0].value.startswith("이 앱은 0.0.0.0에서 서비스되어")

    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)
    at.run()
    assert korean("access.caption", address="0.0.0.0") in [c.value for c in at.caption]
    assert at.text_input(key=access.PASSWORD_KEY).label == korean("access.password")
    assert at.button(key="access_enter").label == korean("access.enter")
    at.text_input(key=access.PASSWORD_KEY).input("guess").run()
    assert [e.value for e in at.error] == ["비밀번호가 틀렸습니다."] and not shows_home(at)

    empty = tmp_path / "empty"
    empty.write_text("\n")
    monkeypatch.setenv(access.PASSWORD_FILE_ENV, str(empty))  # a password file the app cannot use
    at.run()
    assert [e.value for e in at.error] == [f"{access.PASSWORD_FILE_ENV}={empty}: 파일이 비어 있습니다. 비밀번호를 적어 두세요"]
