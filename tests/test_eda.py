"""EDA tables on a hand-made images table (exact numbers) and on the generated demo dataset."""
from __future__ import annotations

import pandas as pd
import pytest

from core.data import charts, eda
from core.data.layout import label_images, read_eval, scan_train
from core.data.stats import image_stats, sample_paths
from core.labels import IMAGE_STEMS, MASK_BY_STEM, NUM_CLASSES

# (person folder, gender, age): ages sit around the edges on purpose.
PEOPLE = [("000001_male_Asian_25", "male", 25), ("000002_female_Asian_29", "female", 29),
          ("000003_female_Asian_45", "female", 45), ("000004_female_Asian_57", "female", 57),
          ("000005_male_Asian_59", "male", 59), ("000006_female_Asian_62", "female", 62)]


def make_images(people=PEOPLE, extension=".jpg", edges=(30, 60)) -> pd.DataFrame:
    """An images table shaped like TrainScan.images: 7 images per person, stored out of order."""
    rows = []
    for folder, gender, age in people:
        for stem in reversed(IMAGE_STEMS):
            ext = ".png" if stem == "normal" else extension
            rows.append({"path": f"train/images/{folder}/{stem}{ext}", "person": folder, "id": folder[:6],
                         "gender": gender, "race": "Asian", "age": age, "mask": MASK_BY_STEM[stem],
                         "gender_label": 0 if gender == "male" else 1, "relabeled": False})
    return label_images(pd.DataFrame(rows), edges)


@pytest.fixture
def images() -> pd.DataFrame:
    return make_images()


def test_class_distribution_counts_every_class_even_empty_ones(images):
    table = eda.distribution(images, "class")
    assert len(table) == NUM_CLASSES and table["count"].sum() == 42
    counts = dict(zip(table["value"], table["count"]))
    # 2 female 30-59 people: 5 wear images each -> class 4 has 10, incorrect -> class 10 has 2.
    assert counts[4] == 10 and counts[10] == 2 and counts[16] == 2
    assert counts[2] == 0  # no male 60+
    assert table.loc[4, "name"] == "wear / female / 30-59"
    assert table["share"].sum() == pytest.approx(1.0)


def test_attribute_distributions_by_image_and_by_person(images):
    assert eda.distribution(images, "mask")["count"].tolist() == [30, 6, 6]
    assert eda.distribution(images, "gender", unit="people")["count"].tolist() == [2, 4]
    assert eda.distribution(images, "age", unit="people")["count"].tolist() == [2, 3, 1]
    # The table's labels come from the scan's edges; `age_edges` must be the same ones (it names the bands).
    relabelled = make_images(edges=(30, 58))
    assert eda.distribution(relabelled, "age", age_edges=(30, 58), unit="people")["count"].tolist() == [2, 2, 2]
    assert eda.distribution(relabelled, "age", age_edges=(30, 58))["name"].tolist() == ["<30", "30-57", ">=58"]
    with pytest.raises(ValueError, match="attribute"):
        eda.distribution(images, "hair")
    with pytest.raises(ValueError, match="unit"):
        eda.distribution(images, "mask", unit="pixels")


def test_imbalance_in_numbers(images):
    numbers = eda.imbalance(eda.distribution(images, "class"))
    assert numbers["largest"] == "wear / female / 30-59" and numbers["largest_count"] == 10
    assert numbers["smallest_count"] == 1 and numbers["ratio"] == pytest.approx(10.0)
    assert "wear / male / >=60" in numbers["empty"] and len(numbers["empty"]) == 18 - 15
    sentence = eda.imbalance_sentence(eda.distribution(images, "mask"), "Mask")
    assert "**wear** (30)" in sentence and "5.0 : 1" in sentence
    assert eda.imbalance(eda.distribution(images.iloc[:0], "mask"))["largest"] is None


def test_cross_table_counts_people_with_totals(images):
    table = eda.cross_table(images, "gender", "age")
    assert table.loc["female"].tolist() == [1, 2, 1, 4]
    assert table.loc["male"].tolist() == [1, 1, 0, 2]
    assert table.loc["total", "total"] == 6
    by_image = eda.cross_table(images, "mask", "age", unit="images", totals=False)
    assert by_image.loc["incorrect"].tolist() == [2, 3, 1] and "total" not in by_image.columns
    with pytest.raises(ValueError):
        eda.cross_table(images, "age", "age")


def test_age_counts_and_people_near_edges(images):
    ages = eda.age_counts(images)
    assert ages["age"].tolist() == [25, 29, 45, 57, 59, 62] and ages["people"].sum() == 6
    near = eda.people_near_edges(images, (30, 60), window=3)
    assert near["people"].tolist() == [1, 2]  # 29 below 30; 57 and 59 below 60


def test_age_edge_whatif_moves_people_into_the_old_band(images):
    whatif = eda.age_edge_whatif(images, [60, 58, 55])
    old_female_wear = whatif[(whatif["label"] == 5)].set_index("edge")["count"].to_dict()
    assert old_female_wear == {60: 5, 58: 5, 55: 10}  # the 57-year-old joins at 55, not at 58
    old_male_wear = whatif[(whatif["label"] == 2)].set_index("edge")["count"].to_dict()
    assert old_male_wear == {60: 0, 58: 5, 55: 5}  # the 59-year-old joins at 58
    assert whatif.groupby("edge")["count"].sum().tolist() == [42, 42, 42]
    assert whatif.loc[whatif["edge"] == 55, "class"].iloc[2] == "wear / male / >=55"

    summary = eda.whatif_summary(whatif, images).set_index("old-age edge")
    assert summary["people in old band"].to_dict() == {60: 1, 58: 2, 55: 3}
    assert summary["images in old band"].to_dict() == {60: 7, 58: 14, 55: 21}
    assert summary.loc[60, "rarest class"] == 0 and summary.loc[60, "empty classes"] == 3
    # No man over 60, then no man of 30-54 once the 59-year-old moves up.
    assert summary.loc[60, "rarest 3 classes"] == "2 (0), 8 (0), 14 (0)"
    assert summary.loc[55, "rarest 3 classes"] == "1 (0), 7 (0), 13 (0)"

    wide = eda.whatif_wide(whatif)
    assert list(wide.columns) == ["label", "class", "30/60", "30/58", "30/55"]  # the order asked for
    assert wide.loc[5, "30/55"] == 10


def test_whatif_rejects_an_edge_below_the_young_edge(images):
    with pytest.raises(Exception, match="age_edges"):
        eda.age_edge_whatif(images, [25], young_edge=30)


def test_class_grid_and_class_table():
    grid = eda.class_grid((30, 55))
    assert list(grid.columns) == ["mask", "gender", "age <30", "age 30-54", "age >=55"]
    assert grid.iloc[3].tolist() == ["incorrect", "female", 9, 10, 11]
    assert sorted(grid.iloc[:, 2:].to_numpy().ravel().tolist()) == list(range(18))
    table = eda.class_table((30, 60), make_images())
    assert table.loc[16, ["mask", "gender", "age", "images"]].tolist() == ["not wear", "female", "30-59", 2]


def test_filters_gallery_and_one_person(images):
    women_wear = eda.filter_images(images, mask=0, gender=1)
    assert len(women_wear) == 20 and set(women_wear["mask"]) == {0}
    assert len(eda.filter_images(images, label=16)) == 2
    assert len(eda.filter_images(images, age=2, mask=2)) == 1
    assert len(eda.filter_images(images)) == 42
    picked = eda.gallery_sample(images, 5, seed=3)
    assert len(picked) == 5 and picked.equals(eda.gallery_sample(images, 5, seed=3))
    assert list(picked["path"]) == sorted(picked["path"])
    person = eda.person_images(images, "000003_female_Asian_45")
    assert person["stem"].tolist() == list(IMAGE_STEMS)  # competition order, whatever the extension
    assert person["path"].iloc[-1].endswith("normal.png")
    assert person["label"].tolist() == [4, 4, 4, 4, 4, 10, 16]
    caption = eda.image_caption(person.iloc[5])
    assert caption.startswith("10: incorrect / female / 30-59") and "45y" in caption


def test_metadata_table_rows_and_sorting(images):
    table = eda.metadata_table(images, "images", sort_by="age", ascending=False)
    assert len(table) == 42 and table["age"].iloc[0] == 62 and "class name" in table.columns
    people = eda.metadata_table(images, "people", sort_by="age")
    assert people["age"].tolist() == [25, 29, 45, 57, 59, 62] and people["images"].tolist() == [7] * 6
    with pytest.raises(ValueError, match="sort_by"):
        eda.metadata_table(images, "people", sort_by="path")


def test_data_spec_on_the_demo_dataset(demo_data_dir):
    scan = scan_train(demo_data_dir)
    spec = eda.data_spec(scan, read_eval(demo_data_dir))
    assert spec["counts"]["people"] == 12 and spec["counts"]["train images"] == 84
    assert spec["counts"]["eval images"] == 28 and spec["counts"]["images per person"] == "7-7"
    assert spec["formats"].set_index("extension")["files"].to_dict() == {".jpg": 84 + 28}
    files = spec["files"].set_index("file")
    assert files.loc["train/train.csv", "columns"] == "id, gender, race, age, path"
    assert files.loc["eval/info.csv", "rows / files"] == "28"
    fields = spec["fields"].set_index("field")
    assert fields.loc["age", "in this data"].startswith(f"{scan.profiles['age'].min()} to ")
    broken = eda.data_spec(scan, None, "eval/info.csv: file not found")
    assert broken["counts"]["eval images"] == 0 and broken["eval_error"].startswith("eval/info.csv")


def test_data_spec_counts_people_missing_images(images):
    class Scan:  # the fields data_spec reads, without a folder on disk
        data_dir, age_edges, skipped, warnings = "x", (30, 60), [{"path": "a", "reason": "b"}], []
        csv_rows = 9  # train.csv may list people whose folders are gone: its own row count is shown
    scan = Scan()
    scan.images = images[images["path"] != "train/images/000001_male_Asian_25/mask3.jpg"]
    scan.profiles = eda.metadata_table(scan.images, "people")
    spec = eda.data_spec(scan)
    assert spec["counts"]["images per person"] == "6-7" and spec["counts"]["people with fewer than 7"] == 1
    assert spec["counts"]["skipped files"] == 1
    assert spec["formats"].set_index("extension")["files"].to_dict() == {".jpg": 35, ".png": 6}
    assert spec["files"].set_index("file").loc["train/train.csv", "rows / files"] == "9"
    assert spec["counts"]["people"] == 6


def test_charts_carry_the_tables(images, demo_data_dir):
    classes = eda.distribution(images, "class")
    spec = charts.distribution_chart(classes, "Images per class").to_dict()
    data = next(iter(spec["datasets"].values()))
    assert [row["count"] for row in data] == classes["count"].tolist()
    assert [row["rare"] for row in data][2] is True  # the empty class is flagged
    layered = charts.age_histogram(eda.age_counts(images), (30, 58)).to_dict()
    edge_rows = [rows for rows in layered["datasets"].values() if rows and "edge" in rows[0]]
    assert [row["edge"] for row in edge_rows[0]] == [30, 58]
    heat = charts.cross_heatmap(eda.cross_table(images), "g x a").to_dict()
    cells = next(iter(heat["datasets"].values()))
    assert len(cells) == 6 and {cell["age"] for cell in cells} == {"<30", "30-59", ">=60"}
    whatif = charts.whatif_chart(eda.age_edge_whatif(images, [60, 55])).to_dict()
    assert whatif["encoding"]["xOffset"]["field"] == "setting"
    stats = image_stats(demo_data_dir, sample_paths(scan_train(demo_data_dir).images, 6))
    assert charts.brightness_histogram(stats.per_image).to_dict()["mark"]["type"] == "bar"
    assert charts.channel_means_chart(stats.per_image).to_dict()["mark"]["type"] == "boxplot"
