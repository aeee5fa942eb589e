"""The lab's two languages: the catalogues agree, the session picks the language, and no view holds text of its own."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from core import i18n
from core.errors import ConfigError
from core.params import Param

REPO = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Three words of English in a string: text a person reads, which belongs in locales/.
ENGLISH_WORDS = re.compile(r"[A-Za-z][a-z']+(?:[ \-][A-Za-z][a-z']+){2,}")

# The files that draw the lab's text. Each one's strings come from locales/ (see test_views_hold_no_english).
VIEWS = ["app.py", "core/ui.py", "core/widgets.py",
         "pages/0_Home.py",
         "pages/1_Data.py",
         "pages/2_Augmentation.py",
         "core/data/charts.py",
         "core/data/headers.py",
         "core/faces/panel.py",
         "core/faces/view.py",
         "core/augment/editor.py",
         "core/augment/order.py",
         "core/augment/charts.py",
         "core/augment/preview.py",
         "core/augment/applied.py",
         "core/augment/timing.py",
         "pages/3_Loader.py",
         "core/loader/charts.py",
         "core/loader/settings.py",
         "core/loader/validate.py",
         "pages/4_Training.py",
         "core/train/follow.py",
         "core/train/charts.py",
         "pages/5_Runs.py",
         "pages/6_Submission.py",
         "core/train/submission.py",
         "core/train/tta.py",
         "pages/7_Experiments.py",
         "core/experiments/spec.py",
         "core/experiments/queue.py",
         "core/experiments/search.py",
         "core/experiments/ensemble.py",
         "core/access.py",
         "core/train/predict.py",
         "core/train/weights.py",
         "core/train/models.py",
         "core/train/run_data.py",
         "core/train/pipeline_sizes.py",
         "core/train/noise.py",
         "core/loader/export.py",
         "core/loader/samplers.py",
         "core/loader/gpu_decode.py",
         "core/loader/cache.py",
         "core/loader/bench.py",
         "core/data/split.py",
         "core/data/__init__.py",
         ]


def catalogue_files(language: str) -> dict[str, Path]:
    return {path.stem: path for path in sorted((i18n.LOCALES_DIR / language).glob("*.yaml"))}


def test_both_languages_have_the_same_files_and_keys():
    english, korean = i18n.catalogue("en"), i18n.catalogue("ko")
    korean_only = set(korean) - set(english)
    # Parameter help in English is declared with the parameter (core/config.py, Albumentations' docstrings), so
    # only Korean has the params*.yaml files.
    korean_only = {key for key in korean_only if not key.startswith(i18n.PARAM_HELP_FILE)}
    assert not korean_only, f"keys only in locales/ko: {sorted(korean_only)[:10]}"
    missing = set(english) - set(korean)
    assert not missing, f"keys missing from locales/ko: {sorted(missing)[:10]}"
    assert set(catalogue_files("en")) <= set(catalogue_files("ko"))


def test_korean_uses_only_placeholders_the_english_text_has():
    english, korean = i18n.catalogue("en"), i18n.catalogue("ko")
    wrong = {key: i18n.placeholders(korean[key]) - i18n.placeholders(english[key])
             for key in english if key in korean}
    assert not {key: names for key, names in wrong.items() if names}


def test_every_korean_text_is_korean():
    english, korean = i18n.catalogue("en"), i18n.catalogue("ko")
    untranslated = [key for key, value in korean.items() if not HANGUL.search(value)
                    and ENGLISH_WORDS.search(english.get(key, value))]
    assert not untranslated, f"Korean texts without Korean: {untranslated[:10]}"


def test_text_formats_in_the_chosen_language_and_falls_back_to_english(monkeypatch):
    assert i18n.text("en", "widgets.set", label="seed") == "set seed"
    assert i18n.text("ko", "widgets.set", label="seed") == "seed 지정"
    monkeypatch.setattr(i18n, "catalogue", lambda language: {"en": {"x.only_en": "only {n}"}, "ko": {}}[language])
    assert i18n.text("ko", "x.only_en", n=3) == "only 3"
    with pytest.raises(i18n.MissingText, match="x.nowhere"):
        i18n.text("ko", "x.nowhere")


def test_outside_streamlit_the_language_is_masklab_lang(monkeypatch):
    monkeypatch.setenv("MASKLAB_LANG", "ko")
    assert i18n.current_language() == "ko"
    assert i18n.t("widgets.auto") == "자동"
    monkeypatch.setenv("MASKLAB_LANG", "xx")
    assert i18n.current_language() == "en"


def test_a_parameter_error_is_english_in_its_message_and_korean_on_a_korean_page(monkeypatch):
    param = Param("lr", "float", 0.1, help="learning rate", min=0.0, max=1.0)
    with pytest.raises(ConfigError) as raised:
        param.validate(3, "optim.lr")
    assert str(raised.value) == "optim.lr: 3.0 is above the maximum 1.0 (learning rate)"  # CLI and logs
    monkeypatch.setenv("MASKLAB_LANG", "ko")
    assert i18n.localized_error(raised.value) == "optim.lr: 3.0은(는) 최댓값 1.0보다 큽니다"
    assert i18n.localized_error(ValueError("plain")) == "plain"


def string_constants(tree: ast.AST):
    """Every string a module holds, less docstrings and widget keys (names, not text)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
        if isinstance(node, ast.keyword) and node.arg in ("key", "language", "format", "url_path"):
            for inner in ast.walk(node.value):
                skipped.add(id(inner))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            yield node


@pytest.mark.parametrize("view", VIEWS)
def test_views_hold_no_english(view):
    tree = ast.parse((REPO / view).read_text(encoding="utf-8"))
    english = [(node.lineno, node.value) for node in string_constants(tree) if ENGLISH_WORDS.search(node.value)]
    assert not english, f"{view}: text outside locales/: {english[:5]}"


def test_the_url_or_the_session_chooses_the_language(demo_data_dir):
    """?lang=ko opens the app in Korean; the session's choice (the sidebar switch) wins over the URL.

    Changing the switch itself is checked in the browser (tests/e2e): AppTest, once a file page has run,
    reruns without app.py's own widgets."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.session_state["data_dir"] = str(demo_data_dir)  # not the app's own demo data (generated on first use)
        at.query_params["lang"] = "ko"
        at.run()
        assert not at.exception
        assert at.sidebar.selectbox(key=i18n.LANGUAGE_KEY).value == "ko"
        assert at.sidebar.selectbox(key=i18n.LANGUAGE_KEY).label == i18n.text("ko", "app.language")
        chosen = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        chosen.session_state["data_dir"] = str(demo_data_dir)
        chosen.query_params["lang"] = "ko"
        chosen.session_state[i18n.LANGUAGE_KEY] = "en"
        chosen.run()
        assert chosen.sidebar.selectbox(key=i18n.LANGUAGE_KEY).value == "en"
        assert chosen.sidebar.selectbox(key=i18n.LANGUAGE_KEY).help == i18n.text("en", "app.language_help")
    finally:
        config.set_option("server.address", before)


def test_every_declared_parameter_has_korean_help_and_params_yaml_holds_nothing_else():
    """locales/ko/params.yaml: one Korean help per parameter of every config section (loader included)."""
    from core.config import config_params

    path = i18n.LOCALES_DIR / "ko" / f"{i18n.PARAM_HELP_FILE}.yaml"
    korean: dict = {}
    i18n._flatten(yaml.safe_load(path.read_text(encoding="utf-8")), i18n.PARAM_HELP_FILE, korean, path)
    korean = {key.removeprefix(f"{i18n.PARAM_HELP_FILE}."): text for key, text in korean.items()}
    declared = {name for name, _ in config_params()}
    assert declared - set(korean) == set(), "declared parameters without Korean help"
    assert set(korean) - declared == set(), "Korean help for parameters nobody declares"
    assert all(HANGUL.search(text) for text in korean.values())


def test_an_error_wrapping_another_is_in_one_language(monkeypatch):
    inner = ConfigError.of("errors.params.above_max", label="loss.label_smoothing", value=0.9, max=0.5,
                           help="smoothing")
    outer = ConfigError.of("errors_experiments.in_variant", variant="B", error=inner)
    assert str(outer) == "variant B: loss.label_smoothing: 0.9 is above the maximum 0.5 (smoothing)"
    monkeypatch.setenv("MASKLAB_LANG", "ko")
    assert i18n.localized_error(outer) == "변형 B: loss.label_smoothing: 0.9은(는) 최댓값 0.5보다 큽니다"


def test_a_template_may_name_its_placeholders_key_and_language(monkeypatch):
    """Placeholders are the template's own names: `key` (a tensor's name) must not collide with the catalogue key."""
    error = ConfigError.of("errors_train.weights_mismatch_example", source="w.pth", matched=0, total=2,
                           model="small_cnn", key="stem.weight", own_shape=(8, 3), file_shape="absent")
    assert "stem.weight" in str(error) and error.key == "errors_train.weights_mismatch_example"
    monkeypatch.setenv("MASKLAB_LANG", "ko")
    assert "stem.weight" in i18n.localized_error(error) and HANGUL.search(i18n.localized_error(error))
