"""Data description: the data spec summary, the metadata, distributions and imbalance, the age-edge what-if,
image statistics, a gallery, and what was skipped."""
import pandas as pd
import streamlit as st

from core.access import require_access
from core.data import charts, eda
from core.data.stats import ImageStats, channel_table, image_stats, sample_paths
from core.data.headers import header, localized_headers
from core.errors import MaskLabError
from core.i18n import localized_error, t
from core.faces.panel import correct_box_panel, face_boxes_controls, gallery_captions, gallery_images
from core.ui import AGE_EDGES_KEY, load_eval_corrupt, load_eval_table, page_header, scan_or_stop

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

GALLERY_SIZES = (8, 16, 24, 48)
ANY = "any"  # the gallery filters' "no filter" value (shown in the session's language)



def unit_name(unit: str) -> str:
    """'images' / 'people' (the tables' unit values) in the session's language."""
    return t(f"data.units.{unit}")


def names_of(values, name) -> callable:
    """A widget's format_func: the names looked up now, in this run's language. (AppTest calls a format_func
    between runs, outside the session, where t() would answer in English.)"""
    return {value: name(value) for value in values}.__getitem__


def count_label(name: str) -> str:
    """A data-spec count ("train images", a key of eda.data_spec's counts) in the session's language."""
    return t("data.counts." + name.replace(" ", "_"))


page_header("data", notes=('lecture_expander', 'lecture_notes'))

scan = scan_or_stop()
data_dir, age_edges = scan.data_dir, scan.age_edges
try:
    eval_table, eval_error = load_eval_table(str(scan.data_dir)), None
    eval_corrupt = load_eval_corrupt(str(scan.data_dir))
except MaskLabError as error:
    eval_table, eval_error, eval_corrupt = None, localized_error(error), []
images = scan.images
if images.empty:
    st.warning(t("data.no_train_images", data_dir=scan.data_dir))
    st.dataframe(localized_headers(pd.DataFrame(scan.skipped)), key="data_skipped_only")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=16)
def cached_image_stats(data_dir: str, paths: tuple[str, ...]) -> ImageStats:
    """Measured once per sample; the bar lives inside so a cache hit replays nothing visible."""
    bar = st.progress(0.0, text=t("data.measuring", count=len(paths)))
    every = max(len(paths) // 50, 1)  # ~50 updates: each one is a message to the browser

    def update(done: int, total: int) -> None:
        if done == total or done % every == 0:
            bar.progress(done / total if total else 1.0, text=t("data.measuring_progress", done=done, total=total))
    stats = image_stats(data_dir, list(paths), progress=update)
    bar.empty()
    return stats


st.caption(t("data.location", data_dir=scan.data_dir, young=age_edges[0], old=age_edges[1]))
progress_area = st.container()  # above the tabs: the measuring bar shows whichever tab is open
(spec_tab, table_tab, dist_tab, whatif_tab, stats_tab, gallery_tab, skipped_tab) = st.tabs(
    [*(t(f"data.tabs.{tab}") for tab in ("spec", "metadata", "distributions", "whatif", "stats", "gallery")),
     t("data.tabs.skipped", skipped=len(scan.skipped) + len(eval_corrupt), warnings=len(scan.warnings))])

# Image statistics feed both the spec summary (image size, format) and their own tab.
with stats_tab:
    st.subheader(t("data.stats_title"))
    size_col, seed_col = st.columns(2)
    sample_size = size_col.select_slider(t("data.sample_size"), options=[50, 100, 200, 500, 1000, 2000, 5000],
                                         value=200, key="data_stats_sample",
                                         help=t("data.sample_size_help"))
    sample_seed = seed_col.number_input(t("data.sample_seed"), min_value=0, value=0, step=1, key="data_stats_seed",
                                        help=t("data.sample_seed_help"))
    paths = sample_paths(images, int(sample_size), int(sample_seed))
with progress_area:
    stats = cached_image_stats(str(scan.data_dir), tuple(paths))

with spec_tab:
    spec = eda.data_spec(scan, eval_table, eval_error)
    st.subheader(t("data.spec_title"))
    counts = spec["counts"]
    for column, (label, value) in zip(st.columns(4), list(counts.items())[:4]):
        column.metric(count_label(label), value)
    for column, (label, value) in zip(st.columns(4), list(counts.items())[4:]):
        column.metric(count_label(label), value)
    if eval_error:
        st.warning(t("data.eval_unusable", error=eval_error))
    st.markdown(t("data.files"))
    st.dataframe(localized_headers(spec["files"]), hide_index=True, key="data_spec_files")
    st.markdown(t("data.fields"))
    st.dataframe(localized_headers(spec["fields"]), hide_index=True, key="data_spec_fields")
    size_col, format_col = st.columns(2)
    size_col.markdown(t("data.image_size", count=stats.count))
    size_col.dataframe(localized_headers(stats.sizes()), hide_index=True, key="data_spec_sizes")
    format_col.markdown(t("data.formats"))
    format_col.dataframe(localized_headers(spec["formats"]), hide_index=True, key="data_spec_formats")
    format_col.dataframe(localized_headers(stats.formats()), hide_index=True, key="data_spec_decoded")

with table_tab:
    st.subheader(t("data.metadata_title"))
    unit = st.radio(t("data.one_row_per"), eda.UNITS, horizontal=True, key="data_table_unit",
                    help=t("data.one_row_per_help"), format_func=names_of(eda.UNITS, unit_name))
    preview = eda.metadata_table(images, unit, age_edges)
    sort_col, order_col = st.columns([2, 1])
    sort_by = sort_col.selectbox(t("data.sort_by"), list(preview.columns), key="data_table_sort",
                                 help=t("data.sort_by_help"), format_func=names_of(preview.columns, header))
    ascending = order_col.checkbox(t("data.ascending"), value=True, key="data_table_ascending",
                                   help=t("data.ascending_help"))
    table = eda.metadata_table(images, unit, age_edges, sort_by=sort_by, ascending=ascending)
    st.caption(t("data.rows", count=len(table)))
    st.dataframe(localized_headers(table), hide_index=True, key="data_table")

with dist_tab:
    st.subheader(t("data.classes_title"))
    classes = eda.distribution(images, "class", age_edges)
    st.altair_chart(charts.distribution_chart(classes, t("data.images_per_class"), horizontal=True), width="stretch")
    st.markdown(eda.imbalance_sentence(classes, t("data.attribute_titles.class")))
    count_unit = st.radio(t("data.count"), eda.UNITS, horizontal=True, key="data_dist_unit",
                          help=t("data.count_help"), format_func=names_of(eda.UNITS, unit_name))
    for column, attribute in zip(st.columns(3), ("mask", "gender", "age")):
        table = eda.distribution(images, attribute, age_edges, unit=count_unit)
        column.altair_chart(charts.distribution_chart(table, t("data.attribute_chart", unit=unit_name(count_unit),
                                                                attribute=t(f"data.attribute_names.{attribute}"))))
        column.markdown(eda.imbalance_sentence(table, t(f"data.attribute_titles.{attribute}")))
    st.subheader(t("data.age_title"))
    st.altair_chart(charts.age_histogram(eda.age_counts(images), age_edges))
    st.caption(t("data.near_edges"))
    st.dataframe(localized_headers(eda.people_near_edges(images, age_edges)), hide_index=True, key="data_near_edges")
    st.subheader(t("data.cross_title"))
    cross_unit = st.radio(t("data.count"), eda.UNITS, index=1, horizontal=True, key="data_cross_unit",
                          help=t("data.cross_help"), format_func=names_of(eda.UNITS, unit_name))
    cross = eda.cross_table(images, "gender", "age", age_edges, unit=cross_unit)
    heat_col, table_col = st.columns(2)
    heat_col.altair_chart(charts.cross_heatmap(cross, t("data.cross_chart", unit=unit_name(cross_unit))))
    table_col.dataframe(localized_headers(cross), key="data_cross_table")
    mask_cross = eda.cross_table(images, "mask", "age", age_edges, unit="images")
    table_col.caption(t("data.mask_cross"))
    table_col.dataframe(localized_headers(mask_cross), key="data_mask_cross_table")


def apply_picked_edge() -> None:
    """Button callback: read the pick at click time (not as drawn) so the edge shown is the edge applied."""
    st.session_state[AGE_EDGES_KEY] = (age_edges[0], int(st.session_state["data_whatif_pick"]))


with whatif_tab:
    st.subheader(t("data.whatif_title"))
    st.markdown(t("data.whatif_text"))
    options = list(range(age_edges[0] + 1, 101))
    default = sorted({age_edges[1], 58, 55} & set(options), reverse=True)
    compared = st.multiselect(t("data.whatif_edges"), options, default=default, key="data_whatif_edges",
                              help=t("data.whatif_edges_help"))
    if compared:
        whatif = eda.age_edge_whatif(images, compared, young_edge=age_edges[0])
        st.altair_chart(charts.whatif_chart(whatif))
        st.dataframe(localized_headers(eda.whatif_summary(whatif, images, young_edge=age_edges[0])), hide_index=True,
                     key="data_whatif_summary")
        st.dataframe(localized_headers(eda.whatif_wide(whatif, age_edges)), hide_index=True, key="data_whatif_table")
        pick_col, button_col = st.columns([1, 2])
        chosen = pick_col.selectbox(t("data.whatif_pick"), compared, key="data_whatif_pick",
                                    help=t("data.whatif_pick_help"))
        button_col.button(t("data.whatif_apply", young=age_edges[0], old=chosen), key="data_whatif_apply",
                          on_click=apply_picked_edge)
    else:
        st.info(t("data.whatif_none"))

with stats_tab:
    if stats.count == 0:
        st.warning(t("data.no_decoded"))
    else:
        st.markdown(t("data.pooled", count=stats.count, pixels=stats.pixels))
        mean_col, std_col, bright_col = st.columns(3)
        mean_col.metric(t("data.mean_rgb"), ", ".join(f"{v:.3f}" for v in stats.mean))
        std_col.metric(t("data.std_rgb"), ", ".join(f"{v:.3f}" for v in stats.std))
        brightness = stats.brightness_summary()
        bright_col.metric(t("data.brightness"), f"{brightness['mean']:.1f} / 255",
                          help=t("data.brightness_help", darkest=brightness["min"], brightest=brightness["max"]))
        st.dataframe(localized_headers(channel_table(stats)), hide_index=True, key="data_stats_channels")
        st.code(stats.normalize_snippet(), language="python")
        hist_col, box_col = st.columns(2)
        hist_col.altair_chart(charts.brightness_histogram(stats.per_image))
        box_col.altair_chart(charts.channel_means_chart(stats.per_image))
        extremes = [brightness["darkest"], brightness["brightest"]]
        st.image([str(scan.data_dir / path) for path in extremes], width=140,
                 caption=[t("data.darkest", path=extremes[0]), t("data.brightest", path=extremes[1])])
        with st.expander(t("data.per_image")):
            st.dataframe(localized_headers(stats.per_image), hide_index=True, key="data_stats_per_image")
    if stats.failed:
        st.warning(t("data.not_decoded", count=len(stats.failed)))
        st.dataframe(localized_headers(pd.DataFrame(stats.failed)), key="data_stats_failed")


def attribute_choice(column, attribute: str, key: str):
    """A selectbox with 'any' and the attribute's values; returns the label or None."""
    names = eda.value_names(attribute, age_edges)
    choice = column.selectbox(t(f"data.attribute_names.{attribute}"), [ANY, *range(len(names))], key=key,
                              help=t(f"data.gallery_help.{attribute}"),
                              format_func=names_of([ANY, *range(len(names))],
                                                   lambda v: t("data.any") if v == ANY else f"{v}: {names[v]}"))
    return None if choice == ANY else int(choice)


with gallery_tab:
    st.subheader(t("data.gallery_title"))
    class_col, mask_col, gender_col, age_col = st.columns(4)
    chosen_class = attribute_choice(class_col, "class", "data_gallery_class")
    chosen_mask = attribute_choice(mask_col, "mask", "data_gallery_mask")
    chosen_gender = attribute_choice(gender_col, "gender", "data_gallery_gender")
    chosen_age = attribute_choice(age_col, "age", "data_gallery_age")
    matching = eda.filter_images(images, label=chosen_class, mask=chosen_mask, gender=chosen_gender,
                                 age=chosen_age)
    count_col, seed_col = st.columns(2)
    show = count_col.select_slider(t("data.show"), GALLERY_SIZES, value=GALLERY_SIZES[1], key="data_gallery_count",
                                   help=t("data.show_help"))
    gallery_seed = seed_col.number_input(t("data.pick_seed"), min_value=0, value=0, step=1, key="data_gallery_seed",
                                         help=t("data.pick_seed_help"))
    st.markdown(t("data.matching", images=len(matching), people=matching["person"].nunique()))
    face_boxes = face_boxes_controls(scan.data_dir, list(images["path"]))
    if matching.empty:
        st.info(t("data.no_match"))
    else:
        picked = eda.gallery_sample(matching, int(show), int(gallery_seed))
        shown = list(picked["path"])
        st.image(gallery_images(scan.data_dir, shown, face_boxes), width=140,
                 caption=gallery_captions([eda.image_caption(row, age_edges) for _, row in picked.iterrows()],
                                          shown, face_boxes))
        correct_box_panel(scan.data_dir, shown, face_boxes)

    st.subheader(t("data.person_title"))
    people = sorted((matching if not matching.empty else images)["person"].unique())
    person = st.selectbox(t("data.person"), people, key="data_gallery_person", help=t("data.person_help"))
    person_rows = eda.person_images(images, person)
    profile = person_rows.iloc[0]
    st.caption(t("data.profile", person=person, gender=profile["gender"], age=int(profile["age"]), race=profile["race"]))
    st.image([str(scan.data_dir / path) for path in person_rows["path"]], width=110,
             caption=[t("data.image_class", stem=row["stem"], label=int(row["label"])) for _, row in person_rows.iterrows()])

with skipped_tab:
    def rows_or_none(title: str, rows: list[dict], caption: str, nothing: str, key: str) -> None:
        st.subheader(t(title))
        if rows:
            st.caption(t(caption))
            st.dataframe(localized_headers(pd.DataFrame(rows)), key=key)
        else:
            st.success(t(nothing))

    rows_or_none("data.skipped_title", scan.skipped, "data.skipped_caption", "data.none_skipped", "data_skipped")
    if eval_corrupt:
        st.subheader(t("data.eval_corrupt_title"))
        st.warning(t("data.eval_corrupt", count=len(eval_corrupt)))
        st.dataframe(localized_headers(pd.DataFrame(eval_corrupt)), key="data_eval_corrupt")
    rows_or_none("data.warnings_title", scan.warnings, "data.warnings_caption", "data.no_warnings", "data_warnings")
