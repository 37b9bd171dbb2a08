"""Data management: upload a register, check it row by row, accept it as a new version;
the versions, rollback, the audit log and a comparison of two versions.

Reading the data (the versions and their comparison) is open; uploading, rolling back
and the audit log need a signed-in data steward (the store refuses anyone else too).

The upload flow is driven by ``st.file_uploader`` (key ``data_file_<n>``; ``n`` moves on
after every accepted upload, which empties the widget). Tests drive it with AppTest's
``file_uploader(...).set_value((name, bytes, mime))``: nothing here needs a browser.
The preview of a read upload (report, fix list, map, counts, gap changes) is in
``pages/data_preview.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from datetime import date

import pandas as pd
import streamlit as st

from geoapp import coords, export, ingest, provenance, settings
from geoapp import store as store_mod
from geoapp.analysis import preview
from geoapp.ingest import template
from pages import cache, data_preview, data_reporting, signin, ui

DATASETS = store_mod.DATASETS
DATUMS = coords.DATUMS
_IMPORT = data_preview.IMPORT  # (key, import, error, datum guess) of the last read
_REFUSED = "data_refused"  # files whose refusal is in the audit log already
_MESSAGE = "data_message"  # what the last write did, shown after the rerun
_SEQ = "data_upload_seq"


# --- reading an upload -------------------------------------------------------------------
def _read(
    dataset: str, label: str, data: bytes, overrides: dict[str, str], datum: str, counties
) -> tuple:
    """Read the register (once per file, mapping and datum: kept in session state)."""
    digest = hashlib.sha256(data).hexdigest()
    lang = ui.lang()  # the row reasons are read in the page's language
    key = (digest, dataset, tuple(sorted(overrides.items())), datum, lang)
    cached = st.session_state.get(_IMPORT)
    if cached and cached[0] == key:
        return cached[1:]
    imported = error = guess = None
    with st.status(ui.t("data.reading").format(name=ui.plain(label)), expanded=False) as status:
        buffer = io.BytesIO(data)
        buffer.name = label  # a label for the report, never opened as a path
        try:
            if dataset == "facilities":
                imported = ingest.read_facilities(
                    buffer,
                    counties=counties,
                    default_datum=datum,
                    columns=overrides or None,
                    lang=lang,
                )
                guess = ingest.guess_datum_from_report(imported.report, counties)
            else:
                imported = ingest.read_unemployed(
                    buffer, counties=counties, columns=overrides or None, lang=lang
                )
        except ingest.RegisterError as exc:
            error = ingest.problem_text(exc, lang)
        status.update(
            label=ui.t("data.read_done" if error is None else "data.read_failed"),
            state="complete" if error is None else "error",
        )
    st.session_state[_IMPORT] = (key, imported, error, guess)
    return imported, error, guess


def _record_refusal(
    store, user, dataset: str, label: str, data: bytes, as_of: date, counties
) -> None:
    """A refused file goes into the audit log once (Store.upload checks and records it)."""
    seen = st.session_state.setdefault(_REFUSED, set())
    digest = (hashlib.sha256(data).hexdigest(), dataset)
    if digest in seen:
        return
    seen.add(digest)
    with contextlib.suppress(store_mod.UploadError):  # refused and recorded, as expected
        store.upload(
            data, file_name=label, dataset=dataset, as_of=as_of, user=user, counties=counties
        )


def _mapping(dataset: str, prefix: str, imported, headers: list[str], error: str | None) -> None:
    """One selectbox per field: the detected column, or one chosen by hand; open, with a
    warning, when a field a register should give has no column; the header notes below."""
    fields = ingest.FACILITY_FIELDS if dataset == "facilities" else ingest.COUNT_FIELDS
    useful = ingest.FACILITY_USEFUL if dataset == "facilities" else ingest.COUNT_USEFUL
    auto = imported.column_map if imported is not None else {}
    missing = ingest.missing_fields(auto, useful) if imported is not None else []
    none = ui.t("data.map_none")
    with st.expander(ui.t("data.mapping"), expanded=error is not None or bool(missing)):
        if missing:
            names = ui.t("data.mapping_separator").join(ui.t(f"field.{f}") for f in missing)
            st.warning(ui.t("data.mapping_missing").format(fields=names), icon=":material/rule:")
        st.caption(ui.t("data.mapping_help"))
        columns = st.columns(4)
        for i, field in enumerate(fields):
            detected = auto.get(field)
            options = headers if detected else [None, *headers]
            chosen = st.session_state.get(f"{prefix}_{field}", detected)
            columns[i % 4].selectbox(
                ui.t_or(f"field.{field}", field),
                options,
                index=options.index(chosen) if chosen in options else 0,
                format_func=lambda v, n=none: n if v is None else v,
                key=f"{prefix}_{field}",
            )
        notes = imported.header_notes if imported is not None else ()
        if notes:
            lines = [f"- {ui.plain(n.text(ui.lang()))}" for n in notes]
            st.caption("\n".join([ui.t("data.mapping_notes"), *lines]))


def _overrides(dataset: str, prefix: str) -> dict[str, str]:
    fields = ingest.FACILITY_FIELDS if dataset == "facilities" else ingest.COUNT_FIELDS
    return {f: v for f in fields if (v := st.session_state.get(f"{prefix}_{f}"))}


def _accept(
    store, user, dataset: str, label: str, data: bytes, scope, imported, note: str, closes: int
) -> None:
    frame = imported.facilities if dataset == "facilities" else imported.counts
    report = imported.report
    rows = report.loc[report["status"].isin(("accepted", "flagged")), "row"].tolist()
    with st.status(ui.t("data.writing"), expanded=True) as status:
        bar = st.progress(30, text=ui.t("data.step_write"))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", store_mod.AsOfWarning)
                submission = store.submit(
                    dataset,
                    frame,
                    user=user,
                    period=scope.period,
                    area=scope.area,
                    as_of=scope.period.as_of,
                    file_name=label,
                    file_bytes=data,
                    counts=(imported.accepted, imported.flagged, imported.rejected),
                    row_numbers=rows,
                    confirm_closures=closes,
                    note=note,
                )
                vid = submission.version_id
        except (store_mod.UploadError, store_mod.StoreError, PermissionError, ValueError) as exc:
            status.update(label=ui.t("data.write_failed"), state="error")
            st.error(ui.problem(exc))
            return
        bar.progress(100, text=ui.t("data.step_done"))
        message = data_reporting.written_message(vid, submission, store)
        status.update(label=message, state="complete")
    notes = [
        str(provenance.note_text(str(w.message), ui.lang()))
        for w in caught
        if issubclass(w.category, store_mod.AsOfWarning)
    ]
    st.session_state[_MESSAGE] = message + ("" if not notes else " " + "；".join(notes))
    st.session_state[_SEQ] = st.session_state.get(_SEQ, 0) + 1
    for key in (_IMPORT, data_preview.GAPS):
        st.session_state.pop(key, None)
    st.rerun()


def _upload(store, user, region: str, policy_key: str, reading: str) -> None:
    datasets = data_preview.labels("dataset", DATASETS)
    c1, c2, c3 = st.columns([2, 2, 1])
    dataset = c1.radio(
        ui.t("data.dataset"),
        DATASETS,
        format_func=datasets.get,
        key="data_dataset",
        horizontal=True,
    )
    scope = data_reporting.scope_choice(store, user, c2, c3)
    as_of = scope.as_of
    limit = f"{settings.MAX_UPLOAD_BYTES / 1e6:,.0f} MB"
    upload = st.file_uploader(
        ui.t("data.file"),
        type=["csv", "xlsx"],
        key=f"data_file_{st.session_state.get(_SEQ, 0)}",
        help=ui.t("data.file_help").format(limit=limit),
    )
    if upload is None:
        st.caption(ui.t("data.file_hint").format(limit=limit))
        _templates(region)
        return
    label = store_mod.display_name(upload.name)
    data = upload.getvalue()
    counties = cache.counties(region)
    try:
        store_mod.check_upload(label, data)
    except store_mod.UploadError as exc:
        _record_refusal(store, user, dataset, label, data, as_of, counties)
        reason = ui.plain(ingest.problem_text(exc, ui.lang()))
        st.error(ui.t("data.refused").format(reason=reason), icon=":material/block:")
        return

    digest = hashlib.sha256(data).hexdigest()[:12]
    prefix = f"data_map_{digest}_{dataset}"
    datum_key = f"data_datum_{digest}"
    datum = st.session_state.get(datum_key, "wgs84") if dataset == "facilities" else "wgs84"
    imported, error, guess = _read(
        dataset, label, data, _overrides(dataset, prefix), datum, counties
    )
    if error is not None:
        st.error(ui.t("data.unreadable").format(reason=ui.plain(error)), icon=":material/block:")
        headers = preview.header_texts(data, label)
    else:
        headers = [*imported.column_map.values(), *imported.ignored_columns]
    _mapping(dataset, prefix, imported, headers, error)
    if dataset == "facilities":
        names = data_preview.labels("datum", DATUMS)
        st.selectbox(
            ui.t("data.datum"),
            DATUMS,
            index=DATUMS.index(datum),
            format_func=names.get,
            key=datum_key,
            help=ui.t("data.datum_help"),
        )
        _datum_hint(guess, datum)
    if imported is None:
        return
    data_preview.show(store, region, dataset, label, imported, policy_key, reading, scope)
    closes, confirmed = data_reporting.outside_and_closures(store, scope, dataset, imported)

    st.subheader(ui.t("data.accept_title"))
    valid = imported.accepted + imported.flagged
    if valid == 0:
        st.error(ui.t("data.no_valid_rows"), icon=":material/block:")
    note = st.text_input(ui.t("data.note"), key="data_note", max_chars=200)
    clicked = st.button(
        ui.t("data.accept").format(n=valid),
        type="primary",
        disabled=valid == 0 or not confirmed,
        key="data_accept",
    )
    if clicked:
        _accept(store, user, dataset, label, data, scope, imported, note, closes)


def _templates(region: str) -> None:
    """Download buttons for the blank registers; the core builds the file on a click."""
    counties, name, language = cache.counties(region), cache.info(region).region_name, ui.lang()
    st.caption(ui.t("data.template_help"))
    for column, kind in zip(st.columns(len(template.KINDS)), template.KINDS, strict=True):
        column.download_button(
            ui.t(f"data.template_{kind}"),
            data=lambda k=kind: template.template_bytes(
                k, counties=counties, region_name=name, region_adcode=region, lang=language
            ),
            file_name=f"{ui.t(f'template.file.{kind}')}-{region}.xlsx",
            mime=export.MEDIA_TYPES["xlsx"],
            key=f"data_template_{kind}",
            on_click="ignore",
            icon=":material/download:",
        )


def _datum_hint(guess: ingest.DatumGuess | None, datum: str) -> None:
    if guess is None or guess.datum is None:
        return
    evidence = guess.evidence(ui.lang())
    if guess.datum != datum:
        st.warning(
            ui.t("data.datum_hint").format(datum=ui.t(f"datum.{guess.datum}"), evidence=evidence),
            icon=":material/explore:",
        )
    else:
        st.caption(evidence)


# --- versions, rollback, audit, comparison ------------------------------------------------
def _stored_texts(table: pd.DataFrame, *, created_by: str) -> dict[str, pd.Series]:
    """The notes and writers the store recorded in English, in the page's language
    (each distinct note rendered once; a steward's own note stays as typed)."""
    lang = ui.lang()
    notes = table["note"].drop_duplicates()
    rendered = dict(zip(notes, notes.map(lambda n: provenance.note_text(n, lang)), strict=True))
    return {
        "note": table["note"].map(rendered),
        created_by: table[created_by].map(lambda who: provenance.who_text(who, lang)),
    }


def _versions(store) -> pd.DataFrame:
    table = store.versions()
    datasets = data_preview.labels("dataset", DATASETS)
    shown = table.assign(
        dataset=table["dataset"].map(datasets),
        is_current=table["is_current"].map({True: "✔", False: ""}),
        **_stored_texts(table, created_by="created_by"),
    )
    columns = [
        "dataset",
        "version_id",
        "as_of",
        "is_current",
        "row_count",
        "created_at",
        "created_by",
        "source_file",
        "note",
    ]
    ui.dataframe(
        shown[columns].rename(columns={c: ui.t(f"version.{c}") for c in columns}),
        hide_index=True,
        width="stretch",
        key="data_versions",
    )
    return table


def _rollback(store, user, versions: pd.DataFrame) -> None:
    st.subheader(ui.t("data.rollback"))
    datasets = data_preview.labels("dataset", DATASETS)
    c1, c2 = st.columns(2)
    dataset = c1.selectbox(
        ui.t("data.dataset"), DATASETS, format_func=datasets.get, key="data_rb_dataset"
    )
    rows = versions[(versions["dataset"] == dataset) & ~versions["is_current"]]
    if rows.empty:
        st.caption(ui.t("data.rollback_none"))
        return
    text = {
        int(r.version_id): ui.t("data.version_option").format(
            version=int(r.version_id),
            as_of=r.as_of,
            file=r.source_file or "",
            rows=int(r.row_count),
        )
        for r in rows.itertuples(index=False)
    }
    version = c2.selectbox(
        ui.t("data.rollback_to"),
        list(text),
        format_func=text.get,
        index=len(text) - 1,
        key="data_rb_version",
    )
    confirm = st.checkbox(
        ui.t("data.rollback_confirm").format(version=version), key="data_rb_confirm"
    )
    if st.button(ui.t("data.rollback_button"), disabled=not confirm, key="data_rb_submit"):
        try:
            store.rollback(dataset, int(version), user=user)
        except (store_mod.StoreError, PermissionError) as exc:
            st.error(ui.problem(exc))
            return
        st.session_state[_MESSAGE] = ui.t("data.rolled_back").format(
            dataset=datasets[dataset], version=version
        )
        st.session_state.pop("data_rb_confirm", None)
        st.rerun()


def _audit(store, user) -> None:
    table = store.audit(user=user).sort_values("event_id", ascending=False)
    actions = data_preview.labels("action", store_mod.ACTIONS)
    datasets = data_preview.labels("dataset", DATASETS)
    shown = table.assign(
        action=table["action"].map(actions),
        dataset=table["dataset"].map(datasets),
        **_stored_texts(table, created_by="who"),
    )
    columns = [
        "event_id",
        "at",
        "who",
        "action",
        "dataset",
        "file_name",
        "file_size",
        "accepted",
        "flagged",
        "rejected",
        "version_id",
        "previous_version",
        "note",
    ]
    ui.dataframe(
        shown[columns].rename(columns={c: ui.t(f"audit.{c}") for c in columns}),
        hide_index=True,
        width="stretch",
        key="data_audit",
    )


def _compare(region: str, versions: pd.DataFrame, policy_key: str, reading: str) -> None:
    ids = versions.loc[versions["dataset"] == "facilities", "version_id"].astype(int).tolist()
    if len(ids) < 2:
        st.caption(ui.t("data.compare_one"))
        return
    current = int(
        versions.loc[
            (versions["dataset"] == "facilities") & versions["is_current"], "version_id"
        ].iloc[0]
    )
    c1, c2 = st.columns(2)
    b = c2.selectbox(ui.t("data.compare_b"), ids, index=ids.index(current), key="data_cmp_b")
    a = c1.selectbox(ui.t("data.compare_a"), ids, index=max(ids.index(b) - 1, 0), key="data_cmp_a")
    if a == b:
        st.caption(ui.t("data.compare_same"))
        return
    diff = cache.version_diff(region, int(a), int(b))
    for column, (what, n) in zip(st.columns(5), diff.summary().items(), strict=True):
        column.metric(ui.t(f"diff.{what}"), ui.number(n))
    if len(diff.added) or len(diff.removed):
        changed = pd.concat(
            [diff.added.assign(change="added"), diff.removed.assign(change="removed")]
        )
        kinds = data_preview.labels("diff", ("added", "removed"))
        shown = changed.assign(change=changed["change"].map(kinds))
        ui.dataframe(
            ui.labelled(
                pd.DataFrame(shown),
                ["change", "facility_id", "name", "facility_type", "prefecture", "county"],
            ),
            hide_index=True,
            width="stretch",
            key="data_cmp_rows",
        )
    if ui.policy_mismatch(region, policy_key) is None:
        data_preview.gap_table(
            cache.version_gap_diff(region, int(a), int(b), policy_key, reading), key="data_cmp_gaps"
        )


@ui.guarded
def main() -> None:
    src = ui.source()
    region = src.region_adcode
    st.title(ui.t("data.title"))
    store = getattr(src, "store", None)
    if store is None:
        st.info(ui.t("data.no_store"))
        return
    policy_key, reading = ui.policy_choice()
    user = signin.current_user()
    steward = user is not None and user.is_steward
    reviewer = user is not None and user.is_reviewer
    message = st.session_state.pop(_MESSAGE, None)
    if message:
        st.success(message, icon=":material/check_circle:")
    if reviewer:
        _reviewer_tabs(store, user, region, policy_key, reading)
        return
    if not steward:
        st.info(
            ui.t("data.viewer_signed_in" if user is not None else "data.need_steward"),
            icon=":material/lock:",
        )
        st.subheader(ui.t("data.versions"))
        versions = _versions(store)
        st.subheader(ui.t("data.compare"))
        _compare(region, versions, policy_key, reading)
        return

    tabs = st.tabs(
        [
            ui.t("data.tab_upload"),
            ui.t("data.tab_submissions"),
            ui.t("data.tab_versions"),
            ui.t("data.tab_audit"),
            ui.t("data.tab_compare"),
            ui.t("data.tab_edit"),
        ]
    )
    with tabs[0]:
        _upload(store, user, region, policy_key, reading)
    with tabs[1]:
        data_reporting.submissions_tab(store, user)
    with tabs[2]:
        versions = _versions(store)
        if not user.area or user.area == region:  # a rollback moves the whole region
            _rollback(store, user, versions)
    with tabs[3]:
        _audit(store, user)
    with tabs[4]:
        _compare(region, versions, policy_key, reading)
    with tabs[5]:
        data_reporting.edit_form(store, user, region)


def _reviewer_tabs(store, user, region: str, policy_key: str, reading: str) -> None:
    """A reviewer's page: the submissions to approve or return, the versions, the audit
    log and the comparison (no upload, no rollback)."""
    tabs = st.tabs(
        [
            ui.t("data.tab_submissions"),
            ui.t("data.tab_versions"),
            ui.t("data.tab_audit"),
            ui.t("data.tab_compare"),
        ]
    )
    with tabs[0]:
        data_reporting.submissions_tab(store, user)
    with tabs[1]:
        versions = _versions(store)
    with tabs[2]:
        _audit(store, user)
    with tabs[3]:
        _compare(region, versions, policy_key, reading)


main()
