"""Data description: the data spec summary, the metadata, distributions and imbalance, the age-edge what-if,
image statistics, a gallery, and what was skipped."""
import streamlit as st

from core.access import require_access
from core.data import charts, eda
from core.data.stats import ImageStats, channel_table, image_stats, sample_paths
from core.errors import MaskLabError
from core.faces.panel import correct_box_panel, face_boxes_controls, gallery_captions, gallery_images
from core.ui import AGE_EDGES_KEY, load_eval_corrupt, load_eval_table, scan_or_stop

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

LECTURE_NOTES = """
**EDA — exploratory data analysis (lecture 2)** is the effort to understand the data before modelling:
what one sample is, what its labels are, how they are distributed, and what could mislead a model.
For this competition that means: the images are photos of people, 7 per person, so the **person**
(not the image) is the unit to split on; the 18 classes are very **imbalanced** (few people are 60+,
and `incorrect` and `not wear` are 1/7 of each person's images); and the pixel statistics give the
**normalisation constants** for the model's input.

**The data spec summary (데이터 스펙 요약본, lecture 1)**: which files, which fields, how many, what size
and format — the first tab.
"""
GALLERY_SIZES = (8, 16, 24, 48)
ANY = "any"

st.set_page_config(page_title="Data · Mask Lab", page_icon="😷", layout="wide")
st.title("Data")
st.caption("What the data is, how it is distributed, and what a model will see.")
with st.expander("What EDA is for (lectures 1 and 2)"):
    st.markdown(LECTURE_NOTES)

scan = scan_or_stop()
data_dir, age_edges = scan.data_dir, scan.age_edges
try:
    eval_table, eval_error = load_eval_table(str(scan.data_dir)), None
    eval_corrupt = load_eval_corrupt(str(scan.data_dir))
except MaskLabError as error:
    eval_table, eval_error, eval_corrupt = None, str(error), []
images = scan.images
if images.empty:
    st.warning(f"{scan.data_dir}: no usable train images; see the skipped files below.")
    st.dataframe(scan.skipped, key="data_skipped_only")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=16)
def cached_image_stats(data_dir: str, paths: tuple[str, ...]) -> ImageStats:
    """Measured once per sample; the bar lives inside so a cache hit replays nothing visible."""
    bar = st.progress(0.0, text=f"Measuring {len(paths)} images...")
    every = max(len(paths) // 50, 1)  # ~50 updates: each one is a message to the browser

    def update(done: int, total: int) -> None:
        if done == total or done % every == 0:
            bar.progress(done / total if total else 1.0, text=f"Measuring images {done}/{total}")
    stats = image_stats(data_dir, list(paths), progress=update)
    bar.empty()
    return stats


st.caption(f"`{scan.data_dir}` · age edges {age_edges[0]}, {age_edges[1]} (change them on the home page)")
progress_area = st.container()  # above the tabs: the measuring bar shows whichever tab is open
(spec_tab, table_tab, dist_tab, whatif_tab, stats_tab, gallery_tab, skipped_tab) = st.tabs(
    ["Spec summary", "Metadata", "Distributions", "Age-edge what-if", "Image statistics", "Gallery",
     f"Skipped ({len(scan.skipped) + len(eval_corrupt)}) & warnings ({len(scan.warnings)})"])

# Image statistics feed both the spec summary (image size, format) and their own tab.
with stats_tab:
    st.subheader("Image statistics on a sample")
    size_col, seed_col = st.columns(2)
    sample_size = size_col.select_slider("Sample size", options=[50, 100, 200, 500, 1000, 2000, 5000],
                                         value=200, key="data_stats_sample",
                                         help="Images decoded at full size; more = steadier numbers, slower.")
    sample_seed = seed_col.number_input("Sample seed", min_value=0, value=0, step=1, key="data_stats_seed",
                                        help="Which images are sampled; the same seed gives the same numbers.")
    paths = sample_paths(images, int(sample_size), int(sample_seed))
with progress_area:
    stats = cached_image_stats(str(scan.data_dir), tuple(paths))

with spec_tab:
    spec = eda.data_spec(scan, eval_table, eval_error)
    st.subheader("Data spec summary")
    counts = spec["counts"]
    for column, (label, value) in zip(st.columns(4), list(counts.items())[:4]):
        column.metric(label, value)
    for column, (label, value) in zip(st.columns(4), list(counts.items())[4:]):
        column.metric(label, value)
    if eval_error:
        st.warning(f"eval/ is not usable: {eval_error}")
    st.markdown("**Files**")
    st.dataframe(spec["files"], hide_index=True, key="data_spec_files")
    st.markdown("**Fields**")
    st.dataframe(spec["fields"], hide_index=True, key="data_spec_fields")
    size_col, format_col = st.columns(2)
    size_col.markdown(f"**Image size** (width × height, {stats.count} sampled images)")
    size_col.dataframe(stats.sizes(), hide_index=True, key="data_spec_sizes")
    format_col.markdown("**Formats** (file extensions, train + eval; decoded format of the sample)")
    format_col.dataframe(spec["formats"], hide_index=True, key="data_spec_formats")
    format_col.dataframe(stats.formats(), hide_index=True, key="data_spec_decoded")

with table_tab:
    st.subheader("Metadata")
    unit = st.radio("One row per", eda.UNITS, horizontal=True, key="data_table_unit",
                    help="Image (7 per person, mask from the file name) or person (one train.csv profile).")
    preview = eda.metadata_table(images, unit, age_edges)
    sort_col, order_col = st.columns([2, 1])
    sort_by = sort_col.selectbox("Sort by", list(preview.columns), key="data_table_sort",
                                 help="Column headers sort too; this order is kept when the page reruns.")
    ascending = order_col.checkbox("Ascending", value=True, key="data_table_ascending",
                                   help="Untick for largest first, e.g. the oldest people.")
    table = eda.metadata_table(images, unit, age_edges, sort_by=sort_by, ascending=ascending)
    st.caption(f"{len(table)} rows")
    st.dataframe(table, hide_index=True, key="data_table")

with dist_tab:
    st.subheader("The 18 classes")
    classes = eda.distribution(images, "class", age_edges)
    st.altair_chart(charts.distribution_chart(classes, "Images per class", horizontal=True), width="stretch")
    st.markdown(eda.imbalance_sentence(classes, "Classes"))
    count_unit = st.radio("Count", eda.UNITS, horizontal=True, key="data_dist_unit",
                          help="Gender and age are per person; counting images multiplies them by 7.")
    for column, attribute in zip(st.columns(3), ("mask", "gender", "age")):
        table = eda.distribution(images, attribute, age_edges, unit=count_unit)
        column.altair_chart(charts.distribution_chart(table, f"{attribute} ({count_unit})"))
        column.markdown(eda.imbalance_sentence(table, attribute.capitalize()))
    st.subheader("Age")
    st.altair_chart(charts.age_histogram(eda.age_counts(images), age_edges))
    st.caption("People just below an edge: a small move of the edge changes their band.")
    st.dataframe(eda.people_near_edges(images, age_edges), hide_index=True, key="data_near_edges")
    st.subheader("Gender × age")
    cross_unit = st.radio("Count", eda.UNITS, index=1, horizontal=True, key="data_cross_unit",
                          help="People: how many profiles (the unit to split on); images: people × 7.")
    cross = eda.cross_table(images, "gender", "age", age_edges, unit=cross_unit)
    heat_col, table_col = st.columns(2)
    heat_col.altair_chart(charts.cross_heatmap(cross, f"gender × age ({cross_unit})"))
    table_col.dataframe(cross, key="data_cross_table")
    mask_cross = eda.cross_table(images, "mask", "age", age_edges, unit="images")
    table_col.caption("mask × age (images)")
    table_col.dataframe(mask_cross, key="data_mask_cross_table")


def apply_picked_edge() -> None:
    """Button callback: read the pick at click time (not as drawn) so the edge shown is the edge applied."""
    st.session_state[AGE_EDGES_KEY] = (age_edges[0], int(st.session_state["data_whatif_pick"]))


with whatif_tab:
    st.subheader("Move the old-age edge")
    st.markdown("Few people are 60+, so the `>=60` classes are the rarest. Lowering the old-age edge moves "
                "people from the middle band into the old band: compare the class sizes side by side.")
    options = list(range(age_edges[0] + 1, 101))
    default = sorted({age_edges[1], 58, 55} & set(options), reverse=True)
    compared = st.multiselect("Old-age edges to compare", options, default=default, key="data_whatif_edges",
                              help="Ages from the edge on are the old band; teams moved 60 to 58 or 55 "
                                   "because so few people are 60+.")
    if compared:
        whatif = eda.age_edge_whatif(images, compared, young_edge=age_edges[0])
        st.altair_chart(charts.whatif_chart(whatif))
        st.dataframe(eda.whatif_summary(whatif, images, young_edge=age_edges[0]), hide_index=True,
                     key="data_whatif_summary")
        st.dataframe(eda.whatif_wide(whatif, age_edges), hide_index=True, key="data_whatif_table")
        pick_col, button_col = st.columns([1, 2])
        chosen = pick_col.selectbox("Old-age edge", compared, key="data_whatif_pick",
                                    help="The edge to apply; every page, split and label then follows it.")
        button_col.button(f"Use {age_edges[0]}/{chosen} on every page", key="data_whatif_apply",
                          on_click=apply_picked_edge)
    else:
        st.info("Pick at least one edge to compare.")

with stats_tab:
    if stats.count == 0:
        st.warning("No sampled image could be decoded.")
    else:
        st.markdown(f"Pooled over **{stats.count}** images ({stats.pixels:,} pixels). These are the "
                    "normalisation constants for this data (0..1 scale), beside ImageNet's:")
        mean_col, std_col, bright_col = st.columns(3)
        mean_col.metric("mean (R, G, B)", ", ".join(f"{v:.3f}" for v in stats.mean))
        std_col.metric("std (R, G, B)", ", ".join(f"{v:.3f}" for v in stats.std))
        brightness = stats.brightness_summary()
        bright_col.metric("brightness (mean luma)", f"{brightness['mean']:.1f} / 255",
                          help=f"darkest {brightness['min']:.1f}, brightest {brightness['max']:.1f}")
        st.dataframe(channel_table(stats), hide_index=True, key="data_stats_channels")
        st.code(stats.normalize_snippet(), language="python")
        hist_col, box_col = st.columns(2)
        hist_col.altair_chart(charts.brightness_histogram(stats.per_image))
        box_col.altair_chart(charts.channel_means_chart(stats.per_image))
        extremes = [brightness["darkest"], brightness["brightest"]]
        st.image([str(scan.data_dir / path) for path in extremes], width=140,
                 caption=[f"darkest: {extremes[0]}", f"brightest: {extremes[1]}"])
        with st.expander("Per-image numbers"):
            st.dataframe(stats.per_image, hide_index=True, key="data_stats_per_image")
    if stats.failed:
        st.warning(f"{len(stats.failed)} sampled image(s) did not decode:")
        st.dataframe(stats.failed, key="data_stats_failed")


GALLERY_HELP = {
    "class": "The 18 classes: 6 × mask + 3 × gender + age band.",
    "mask": "From the file name: mask1..mask5 = wear, incorrect_mask = incorrect, normal = not wear.",
    "gender": "From the person's folder name (train.csv is cross-checked).",
    "age": "The age band, by the edges chosen on the home page.",
}


def attribute_choice(column, attribute: str, key: str):
    """A selectbox with 'any' and the attribute's values; returns the label or None."""
    names = eda.value_names(attribute, age_edges)
    choice = column.selectbox(attribute, [ANY, *range(len(names))], key=key, help=GALLERY_HELP[attribute],
                              format_func=lambda v: v if v == ANY else f"{v}: {names[v]}")
    return None if choice == ANY else int(choice)


with gallery_tab:
    st.subheader("Gallery")
    class_col, mask_col, gender_col, age_col = st.columns(4)
    chosen_class = attribute_choice(class_col, "class", "data_gallery_class")
    chosen_mask = attribute_choice(mask_col, "mask", "data_gallery_mask")
    chosen_gender = attribute_choice(gender_col, "gender", "data_gallery_gender")
    chosen_age = attribute_choice(age_col, "age", "data_gallery_age")
    matching = eda.filter_images(images, label=chosen_class, mask=chosen_mask, gender=chosen_gender,
                                 age=chosen_age)
    count_col, seed_col = st.columns(2)
    show = count_col.select_slider("Show", GALLERY_SIZES, value=GALLERY_SIZES[1], key="data_gallery_count",
                                   help="How many matching images to show, picked at random.")
    gallery_seed = seed_col.number_input("Pick seed", min_value=0, value=0, step=1, key="data_gallery_seed",
                                         help="Change it to see other matching images; the same seed, the same pick.")
    st.markdown(f"**{len(matching)}** matching images of **{matching['person'].nunique()}** people")
    face_boxes = face_boxes_controls(scan.data_dir, list(images["path"]))
    if matching.empty:
        st.info("No image matches these filters.")
    else:
        picked = eda.gallery_sample(matching, int(show), int(gallery_seed))
        shown = list(picked["path"])
        st.image(gallery_images(scan.data_dir, shown, face_boxes), width=140,
                 caption=gallery_captions([eda.image_caption(row, age_edges) for _, row in picked.iterrows()],
                                          shown, face_boxes))
        correct_box_panel(scan.data_dir, shown, face_boxes)

    st.subheader("One person's 7 images")
    people = sorted((matching if not matching.empty else images)["person"].unique())
    person = st.selectbox("Person", people, key="data_gallery_person",
                          help="The people among the gallery matches (all people if none match).")
    person_rows = eda.person_images(images, person)
    profile = person_rows.iloc[0]
    st.caption(f"{person}: {profile['gender']}, {int(profile['age'])} years, race {profile['race']}")
    st.image([str(scan.data_dir / path) for path in person_rows["path"]], width=110,
             caption=[f"{row['stem']}: class {int(row['label'])}" for _, row in person_rows.iterrows()])

with skipped_tab:
    st.subheader("Skipped files")
    if scan.skipped:
        st.caption("Left out of every dataset: corrupt images, unexpected names, folders that do not parse.")
        st.dataframe(scan.skipped, key="data_skipped")
    else:
        st.success("No file was skipped.")
    if eval_corrupt:
        st.subheader("Eval images that do not decode")
        st.warning(f"{len(eval_corrupt)} eval image(s) do not decode: a submission needs a row for every eval "
                   "image, so inference will stop on them. Replace them from the original data.")
        st.dataframe(eval_corrupt, key="data_eval_corrupt")
    st.subheader("Warnings")
    if scan.warnings:
        st.caption("Used, but worth a look: missing images, folder names that disagree with train.csv, relabels.")
        st.dataframe(scan.warnings, key="data_warnings")
    else:
        st.success("No warnings.")
