import pytest

from core.data.layout import scan_train
from core.data.relabel import append_relabels, load_relabels
from core.errors import DataError


def test_relabel_overrides_one_image_and_a_whole_person(demo_copy):
    before = scan_train(demo_copy).images.set_index("path")
    image = before.index[0]
    person = before.loc[image, "person"]
    new_gender = "male" if before.loc[image, "gender"] == "female" else "female"
    (demo_copy / "relabel.csv").write_text(
        f"path,field,value\n{image},mask,normal\ntrain/images/{person},gender,{new_gender}\n")
    after = scan_train(demo_copy).images.set_index("path")
    assert after.loc[image, "mask"] == 2
    assert after.loc[image, "label"] == 12 + 3 * after.loc[image, "gender_label"] + after.loc[image, "age_label"]
    assert (after[after["person"] == person]["gender"] == new_gender).all()
    assert after["relabeled"].sum() == 7
    # the data files themselves are untouched
    assert (demo_copy / image).exists()


def test_relabel_age_uses_configured_edges(demo_copy):
    images = scan_train(demo_copy).images
    person = images["person"].iloc[0]
    (demo_copy / "relabel.csv").write_text(f"path,field,value\ntrain/images/{person},age,58\n")
    assert set(scan_train(demo_copy).images.query("person == @person")["age_label"]) == {1}
    assert set(scan_train(demo_copy, age_edges=(30, 58)).images.query("person == @person")["age_label"]) == {2}


def test_bad_relabel_row_names_the_line(demo_copy):
    (demo_copy / "relabel.csv").write_text("path,field,value\nx.jpg,mask,0\ny.jpg,mask,maybe\n")
    with pytest.raises(DataError, match="relabel.csv line 3: mask value must be"):
        scan_train(demo_copy)


def test_unknown_path_is_a_warning_not_a_crash(demo_copy):
    (demo_copy / "relabel.csv").write_text("path,field,value\ntrain/images/nobody/mask1.jpg,mask,0\n")
    scan = scan_train(demo_copy)
    assert any("matches no image" in w["reason"] for w in scan.warnings)


def test_append_replaces_same_path_and_field(demo_copy):
    append_relabels(demo_copy, [{"path": "a.jpg", "field": "mask", "value": "wear"}])
    append_relabels(demo_copy, [{"path": "a.jpg", "field": "mask", "value": "normal"},
                                {"path": "a.jpg", "field": "gender", "value": "male"}])
    rows = load_relabels(demo_copy)
    assert [(r["field"], r["value"]) for r in rows] == [("mask", 2), ("gender", 0)]
    with pytest.raises(DataError, match="gender value"):
        append_relabels(demo_copy, [{"path": "a.jpg", "field": "gender", "value": "x"}])
    with pytest.raises(DataError, match="relabel row for /a.jpg: path '/a.jpg' is absolute"):
        append_relabels(demo_copy, [{"path": "/a.jpg", "field": "gender", "value": "male"}])
    assert len(load_relabels(demo_copy)) == 2  # a refused row writes nothing


def test_a_utf8_bom_is_accepted(demo_copy):
    image = scan_train(demo_copy).images["path"].iloc[0]
    # Excel's "CSV UTF-8" starts the file with a BOM: the header must still read as path,field,value.
    (demo_copy / "relabel.csv").write_bytes(f"path,field,value\n{image},mask,normal\n".encode("utf-8-sig"))
    after = scan_train(demo_copy).images.set_index("path")
    assert after.loc[image, "mask"] == 2 and after["relabeled"].sum() == 1
    append_relabels(demo_copy, [{"path": image, "field": "gender", "value": "male"}])
    assert [(row["field"], row["line"]) for row in load_relabels(demo_copy)] == [("mask", 2), ("gender", 3)]


def test_bytes_that_are_not_utf8_name_the_file_and_line(demo_copy):
    (demo_copy / "relabel.csv").write_bytes("path,field,value\nx.jpg,mask,0\n나이.jpg,age,40\n".encode("cp949"))
    with pytest.raises(DataError, match=r"relabel\.csv line 3: not UTF-8 text \(byte 0xb3\); save the file as UTF-8$"):
        scan_train(demo_copy)
    # After a BOM too: the line and the byte are the file's own.
    (demo_copy / "relabel.csv").write_bytes(b"\xef\xbb\xbfpath,field,value\nab\xe9.jpg,mask,0\n")
    with pytest.raises(DataError, match=r"relabel\.csv line 2: not UTF-8 text \(byte 0xe9\)"):
        load_relabels(demo_copy)


@pytest.mark.parametrize("path, problem", [("/train/images/x/mask1.jpg", "is absolute"),
                                           ("C:/data/train/images/x", "is absolute"),
                                           ("train/images/../../etc/passwd", "contains '..'"),
                                           ("..\\outside.jpg", "contains '..'")])
def test_paths_outside_the_data_directory_are_rejected_naming_the_line(demo_copy, path, problem):
    (demo_copy / "relabel.csv").write_text(f"path,field,value\nx.jpg,mask,0\n{path},mask,0\n")
    with pytest.raises(DataError, match=rf"relabel\.csv line 3: path .* {problem}; write it relative"):
        scan_train(demo_copy)


def test_line_numbers_count_blank_and_quoted_lines(demo_copy):
    # A blank line and a quoted value spanning two lines: the bad row is on line 6 of the file.
    (demo_copy / "relabel.csv").write_text('path,field,value\n\nx.jpg,mask,0\n"y\n.jpg",mask,0\nz.jpg,gender,maybe\n')
    with pytest.raises(DataError, match=r"relabel\.csv line 6: gender value must be"):
        load_relabels(demo_copy)
