"""The Runs page: leaderboard, overlay of two runs, best checkpoint's per-class F1 / confusion / cell images,
and accepting label-noise suspects into relabel.csv — on a real tiny run."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import open_page as open_checked_page, run_page
from tests.pages.tiny_run import finished_run


pytestmark = pytest.mark.usefixtures("runs_dir")


def open_page(data_dir) -> AppTest:
    return open_checked_page("5_Runs.py", data_dir)


def test_no_runs_yet_says_what_to_do(demo_data_dir):
    at = open_page(demo_data_dir)
    assert any("No runs yet" in info.value and "Training page" in info.value for info in at.info)


def test_leaderboard_overlay_and_best_checkpoint(demo_copy, tmp_path):
    runs = tmp_path / "runs"
    finished_run(demo_copy, runs, "alpha")
    beta = finished_run(demo_copy, runs, "beta")
    status = json.loads((beta / "status.json").read_text())
    (beta / "status.json").write_text(json.dumps({**status, "best_val_f1": 0.99}))
    at = open_page(demo_copy)
    board = at.dataframe[0].value
    assert set(board["run"]) == {"alpha", "beta"} and set(board["state"]) == {"finished"}
    assert {"best val F1", "val accuracy", "epochs", "time", "model", "model.name", "optim.lr"} <= set(board.columns)
    assert board["epochs"].tolist() == ["2/2", "2/2"]
    # Fits a laptop screen: no repeated columns, short headers for the settings, F1 shown to 4 places.
    shown = list(at.dataframe[0].proto.column_order)
    assert shown[:3] == ["run", "state", "best val F1"] and "model.heads" in shown
    assert not {"model", "time (s)", "device", "train.epochs"} & set(shown)
    headers = json.loads(at.dataframe[0].proto.columns)
    assert headers["model.heads"]["label"] == "heads" and headers["best val F1"]["type_config"]["format"] == "%.4f"
    at.selectbox(key="runs_sort").select("run").run()
    at.toggle(key="runs_ascending").set_value(False).run()
    assert at.dataframe[0].value["run"].tolist() == ["beta", "alpha"]

    at.selectbox(key="runs_overlay_a").select("alpha")
    at.selectbox(key="runs_overlay_b").select("beta").run()
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    overlay = [spec for spec in specs if spec.get("encoding", {}).get("color", {}).get("field") == "run"]
    assert {spec["title"] for spec in overlay} == {"loss", "accuracy", "macro F1"}

    at.selectbox(key="runs_detail").select("alpha").run()
    per_class = next(frame.value for frame in at.dataframe if "support" in frame.value.columns)
    assert len(per_class) == 18 and per_class["support"].sum() > 0
    cell = at.selectbox(key="runs_cell").value
    at.button(key="runs_compute_cells").click().run()
    assert not at.exception, at.exception
    predictions = pd.read_csv(runs / "alpha" / "val_predictions.csv")
    expected = ((predictions["label"] == cell[0]) & (predictions["pred"] == cell[1])).sum()
    assert expected > 0 and len(at.image) >= 1
    assert sum(len(image.proto.imgs) for image in at.image) >= min(expected, 24)


def test_accepting_a_suspect_writes_only_the_values_chosen_and_it_leaves_the_list(demo_copy, tmp_path):
    run_dir = finished_run(demo_copy, tmp_path / "runs", "noisy")
    # Two known suspects (a 2-epoch run may list none): no-mask photos the model calls masked, of the other gender.
    from core.data.layout import scan_train
    from core.labels import class_name, decode, encode
    people = sorted((demo_copy / "train" / "images").iterdir())[:2]
    images = [str((person / "normal.jpg").relative_to(demo_copy)) for person in people]
    given = scan_train(demo_copy).images.set_index("path")["label"]
    genders = [decode(int(given[image]))[1] for image in images]
    predicted = [encode(0, 1 - decode(int(given[image]))[1], 2) for image in images]
    pd.DataFrame([{"path": image, "given_label": int(given[image]), "given_name": class_name(int(given[image])),
                   "predicted_label": guess, "predicted_name": class_name(guess), "evidence": 6.0 - 5 * index,
                   "mean_loss": 3.2, "wrong_fraction": 1.0, "epochs": 2}
                  for index, (image, guess) in enumerate(zip(images, predicted))]).to_csv(run_dir / "suspects.csv",
                                                                                         index=False)
    at = open_page(demo_copy)
    assert at.checkbox(key="runs_accept_person").value  # gender and age are the person's by default
    # The second is often wrong but typical of its class (evidence 1): hidden until asked for.
    assert not any(box.key == "runs_suspect_noisy_1" for box in at.checkbox)
    at.toggle(key="runs_weak_suspects").set_value(True).run()
    at.checkbox(key="runs_suspect_noisy_0").check().run()
    assert at.button(key="runs_accept_suspects").disabled  # ticked, nothing chosen: nothing to write
    assert at.number_input(key="runs_suspect_noisy_0_age").value is None  # no age offered in the user's place
    at.selectbox(key="runs_suspect_noisy_0_mask").select(0)
    at.selectbox(key="runs_suspect_noisy_0_gender").select(1 - genders[0])
    at.number_input(key="runs_suspect_noisy_0_age").set_value(64).run()
    at.button(key="runs_accept_suspects").click().run()
    assert not at.exception, at.exception
    relabel = pd.read_csv(demo_copy / "relabel.csv").set_index("field")
    folder = str(people[0].relative_to(demo_copy))
    assert relabel.loc["mask", "path"] == images[0] and str(relabel.loc["mask", "value"]) == "0"
    assert relabel.loc["gender", "path"] == folder and int(relabel.loc["gender", "value"]) == 1 - genders[0]
    assert relabel.loc["age", "path"] == folder and int(relabel.loc["age", "value"]) == 64  # the age typed
    assert any("3 row(s)" in s.value and "relabel.csv" in s.value for s in at.success)
    # The fixed suspect leaves the list (its label changed), nothing stays ticked, the other one is still there.
    assert not any(box.key == "runs_suspect_noisy_0" for box in at.checkbox)
    assert not at.checkbox(key="runs_suspect_noisy_1").value
    assert any("1 suspect(s) already corrected" in c.value for c in at.caption)

    # Choosing only the mask writes only the mask: the model's gender and age band are not written for it.
    at.checkbox(key="runs_suspect_noisy_1").check().run()
    at.selectbox(key="runs_suspect_noisy_1_mask").select(0).run()
    at.button(key="runs_accept_suspects").click().run()
    rows = pd.read_csv(demo_copy / "relabel.csv")
    second = str(people[1].relative_to(demo_copy))
    assert rows[rows["path"].str.startswith(second)][["path", "field"]].values.tolist() == [[images[1], "mask"]]


def test_a_damaged_best_checkpoint_and_a_run_still_going_say_what_to_do(demo_data_dir, tmp_path):
    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "broken")
    (run_dir / "best.pt").write_bytes(b"not a checkpoint")
    at = open_page(demo_data_dir)
    at.button(key="runs_compute_cells").click().run()
    assert not at.exception, at.exception
    message = " ".join(e.value for e in at.error)
    assert "broken/best.pt: cannot be read as a checkpoint" in message and "Training page" in message
    assert "weights_only" not in message  # torch's advice about its own flag does not help here

    going = tmp_path / "runs" / "going"  # started, no epoch finished yet
    going.mkdir()
    (going / "config.yaml").write_text("model: {name: small_cnn}\n")
    (going / "status.json").write_text(json.dumps({"state": "running", "pid": os.getpid(), "epoch": 0, "epochs": 3}))
    at = open_page(demo_data_dir)
    at.selectbox(key="runs_detail").select("going").run()
    assert not at.exception, at.exception
    assert any("going has no finished epoch yet" in i.value and "first validation" in i.value for i in at.info)
    final = tmp_path / "runs" / "final"  # a final fit never validates: waiting would not help
    final.mkdir()
    (final / "config.yaml").write_text("model: {name: small_cnn}\ntrain: {final_fit: true}\n")
    (final / "status.json").write_text(json.dumps({"state": "finished", "epoch": 3, "epochs": 3}))
    at = open_page(demo_data_dir)
    at.selectbox(key="runs_detail").select("final").run()
    assert not at.exception, at.exception
    assert any("final is a final fit" in i.value and "never validates" in i.value for i in at.info)
    assert not any("first validation" in i.value for i in at.info)
    board = at.dataframe[0].value.set_index("run")
    assert board.loc["going", "state"] == "running" and board.loc["going", "epochs"] == "0/3"


def confusion_chart_of(at):
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if "layer" in spec and spec["layer"][0]["encoding"].get("y", {}).get("title") == "true class":
            return chart, spec
    raise AssertionError("no confusion matrix on the page")


def test_clicking_a_confusion_cell_opens_its_images_every_class_named_zero_cells_apart(demo_copy, tmp_path):
    finished_run(demo_copy, tmp_path / "runs", "alpha")
    at = open_page(demo_copy)
    chart, spec = confusion_chart_of(at)
    heat, text = spec["layer"]
    assert list(chart.proto.selection_mode) == ["cell"]  # st.altair_chart(on_select="rerun") with a point selection
    click = next(param for param in spec["params"] if param["name"] == "cell")
    assert click["select"]["type"] == "point" and click["select"]["fields"] == ["true", "predicted"]
    for channel in ("x", "y"):  # all 18 classes on both axes, by number and name, none dropped for overlap
        encoding = heat["encoding"][channel]
        domain = encoding["scale"]["domain"]
        assert len(domain) == 18 and domain[14].startswith("14 not wear/M/")
        assert encoding["axis"]["labelOverlap"] is False
    colour = heat["encoding"]["color"]
    assert "count === 0" in colour["condition"]["test"] and colour["condition"]["value"] == "#f3f3f3"
    assert colour["scale"]["domain"][0] == 1 and colour["scale"]["range"][0] != "#f3f3f3"  # 1 is blue, 0 grey
    assert "count > 0" in text["encoding"]["text"]["condition"]["test"]  # numbers only in non-empty cells

    at.button(key="runs_compute_cells").click().run()
    assert not at.exception, at.exception
    predictions = pd.read_csv(tmp_path / "runs" / "alpha" / "val_predictions.csv")
    cells = predictions.groupby(["label", "pred"]).size()
    listed = at.selectbox(key="runs_cell").value
    others = [cell for cell in cells.index if tuple(map(int, cell)) != tuple(listed)]
    assert others, "the tiny run's validation set fills at least two cells"
    true, predicted = map(int, others[-1])
    at.session_state["runs_confusion_alpha"] = {"selection": {"cell": [{"true": true, "predicted": predicted}]}}
    at.run()
    assert not at.exception, at.exception
    assert tuple(at.selectbox(key="runs_cell").value) == (true, predicted)
    expected = predictions[(predictions["label"] == true) & (predictions["pred"] == predicted)]["path"]
    shown = [img.caption for img in at.image[0].proto.imgs]  # the cell's images come before the suspects'
    assert sorted(shown) == sorted(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in expected.head(24))

    empty = next((t, p) for t in range(18) for p in range(18) if (t, p) not in cells.index)
    at.session_state["runs_confusion_alpha"] = {"selection": {"cell": [{"true": empty[0], "predicted": empty[1]}]}}
    at.run()
    assert any("that cell is empty" in i.value for i in at.info)


def test_the_page_in_korean_shows_the_korean_catalogue_and_english_stays_english(demo_data_dir, tmp_path, monkeypatch):
    """Issue #16: title, leaderboard headers and states, chart titles and axes, captions and a checkpoint error's
    next step in Korean; the English page keeps its words."""
    from core.i18n import text

    monkeypatch.setenv("MASKLAB_LANG", "ko")  # AppTest formats chosen values in the test's thread (see test_training_page)
    empty = run_page("5_Runs.py", demo_data_dir, state={"lang": "ko"})
    assert text("ko", "runs.no_runs", root=tmp_path / "runs") in [info.value for info in empty.info]

    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "alpha")
    (run_dir / "best.pt").write_bytes(b"not a checkpoint")
    at = run_page("5_Runs.py", demo_data_dir, state={"lang": "ko"})
    assert not at.exception, at.exception
    assert at.title[0].value == text("ko", "runs.title")
    assert at.selectbox(key="runs_sort").label == "정렬 기준" and "최고 검증 F1" in at.selectbox(key="runs_sort").options
    headers = json.loads(at.dataframe[0].proto.columns)
    assert headers["best val F1"]["label"] == "검증 F1" and headers["model.heads"]["label"] == "head"
    assert at.dataframe[0].value["state"].tolist() == ["완료"]  # the state in words; status.json keeps "finished"
    titles = {json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")}
    assert {"손실(loss)", "정확도(accuracy)", "macro F1"} <= titles
    _, spec = confusion_chart_of_titled(at, "실제 클래스")
    assert spec["layer"][0]["encoding"]["x"]["title"] == "예측 클래스"
    assert any(c.value.startswith("Epoch ") and ": 검증 macro F1 " in c.value for c in at.caption)
    at.button(key="runs_compute_cells").click().run()
    assert not at.exception, at.exception
    assert text("ko", "runs.train_again", run="alpha") in at.error[0].value

    monkeypatch.delenv("MASKLAB_LANG")
    english = open_page(demo_data_dir)
    assert english.title[0].value == "Runs" and english.dataframe[0].value["state"].tolist() == ["finished"]
    assert json.loads(english.dataframe[0].proto.columns)["best val F1"]["label"] == "val F1"


def confusion_chart_of_titled(at, true_title: str):
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if "layer" in spec and spec["layer"][0]["encoding"].get("y", {}).get("title") == true_title:
            return chart, spec
    raise AssertionError(f"no confusion matrix titled {true_title!r} on the page")
