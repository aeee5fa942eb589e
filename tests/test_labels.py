import pytest

from core.errors import DataError
from core.labels import (COMPETITION_AGE_EDGES, DEFAULT_AGE_EDGES, MAX_AGE_EDGE, MIN_AGE_EDGE, age_band,
                         age_band_names, check_age_edges, class_name, decode, encode,
                         mask_label, parse_profile_folder)


def test_encode_decode_round_trip_covers_all_18_classes():
    seen = set()
    for mask in range(3):
        for gender in range(2):
            for age in range(3):
                label = encode(mask, gender, age)
                assert decode(label) == (mask, gender, age)
                seen.add(label)
    assert seen == set(range(18))


def test_known_class_indices_match_the_competition_table():
    assert encode(0, 0, 0) == 0          # wear, male, <30
    assert encode(0, 1, 2) == 5          # wear, female, >=60
    assert encode(1, 0, 1) == 7          # incorrect, male, 30-59
    assert encode(2, 1, 2) == 17         # not wear, female, >=60


@pytest.mark.parametrize("age, band", [(29, 0), (30, 1), (59, 1), (60, 2), (18, 0), (75, 2)])
def test_default_age_edges(age, band):
    assert age_band(age) == band


def test_moved_old_age_edge_changes_band():
    assert age_band(58, (30, 60)) == 1
    assert age_band(58, (30, 58)) == 2
    assert age_band(57, (30, 58)) == 1
    assert age_band_names((30, 58)) == ("<30", "30-57", ">=58")


def test_bad_age_edges_rejected():
    with pytest.raises(DataError, match="age_edges"):
        check_age_edges((60, 30))
    with pytest.raises(DataError, match="age_edges"):
        check_age_edges(("a", 3))
    # The error names the setting the way the user typed it.
    with pytest.raises(DataError, match=r"^--age-edges: expected two whole numbers like 30,60, got \[30\]$"):
        check_age_edges([30], name="--age-edges")


def test_out_of_range_labels_rejected():
    with pytest.raises(ValueError, match="mask"):
        encode(3, 0, 0)
    with pytest.raises(ValueError):
        decode(18)


def test_class_name_is_human_readable():
    assert class_name(0) == "wear / male / <30"
    assert class_name(17) == "not wear / female / >=60"


def test_parse_profile_folder():
    profile = parse_profile_folder("000001_female_Asian_45")
    assert (profile.id, profile.gender, profile.race, profile.age) == ("000001", "female", "Asian", 45)


@pytest.mark.parametrize("name", ["000001_female_Asian", "000001_woman_Asian_45", "x_female_Asian_old", ""])
def test_unparseable_folder_names_named_in_error(name):
    with pytest.raises(DataError, match="<id>_<gender>_<race>_<age>"):
        parse_profile_folder(name)


def test_mask_label_from_file_stems():
    assert [mask_label(s) for s in ("mask1", "MASK5", "incorrect_mask", "normal")] == [0, 0, 1, 2]
    with pytest.raises(DataError, match="mask6"):
        mask_label("mask6")


def test_age_edge_rule_is_declared_once_and_everyone_reads_it():
    from core.config import DataConfig, params_of

    assert COMPETITION_AGE_EDGES == DEFAULT_AGE_EDGES == (30, 60)
    assert check_age_edges((MIN_AGE_EDGE, MAX_AGE_EDGE)) == (MIN_AGE_EDGE, MAX_AGE_EDGE)
    for edges in ((MIN_AGE_EDGE - 1, 60), (30, MAX_AGE_EDGE + 1)):
        with pytest.raises(DataError, match=f"need {MIN_AGE_EDGE - 1} < young edge < old edge <= {MAX_AGE_EDGE}"):
            check_age_edges(edges)
    # The experiment config's default and bounds are the same declaration, not a copy.
    param = next(p for p in params_of(DataConfig) if p.name == "age_edges")
    assert tuple(DataConfig().age_edges) == DEFAULT_AGE_EDGES
    assert (param.min, param.max) == (MIN_AGE_EDGE, MAX_AGE_EDGE)
