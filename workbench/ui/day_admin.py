"""The facilitator's day management, under the day on the Trainingsdag page: rename, change
the setup before the day starts, archive or restore, and delete a day that holds nothing.
The rules live in `services.training` (`_day_admin`); this only asks and shows."""

from __future__ import annotations

import sqlalchemy as sa
import streamlit as st

from workbench.domain.library import Library
from workbench.services import training
from workbench.services.errors import UserError
from workbench.ui.components import plain, show_error
from workbench.ui.days import scenario_label
from workbench.ui.i18n import t


def manage(*, engine: sa.Engine, library: Library, actor: str, day: training.DayView) -> None:
    st.subheader(t("facilitator.manage.title"))
    _rename(engine, actor, day)
    _setup(engine, library, actor, day)
    _archive(engine, actor, day)
    _delete(engine, actor, day)


def _done(message: str, *, select: int | None = None) -> None:
    st.session_state["fa_flash"] = message
    if select is not None:
        st.session_state["fa_select"] = select
    st.rerun()


def _rename(engine: sa.Engine, actor: str, day: training.DayView) -> None:
    dup_key = f"fa_rename_dup_{day.id}"
    with st.form(f"fa_rename_form_{day.id}"):
        name = st.text_input(t("facilitator.manage.new_name"), value=day.name,
                             key=f"fa_rename_{day.id}", max_chars=training.MAX_NAME_CHARS)
        allow = False
        if dup := st.session_state.get(dup_key):
            st.warning(t("day.duplicate", **dup))
            allow = st.checkbox(t("facilitator.allow_duplicate"), key=f"fa_rename_allow_{day.id}")
        if st.form_submit_button(t("facilitator.manage.rename")):
            try:
                view = training.rename_day(engine=engine, training_day_id=day.id, name=name,
                                           allow_duplicate=allow, changed_by=actor)
            except training.DuplicateDayError as err:
                st.session_state[dup_key] = {k: plain(str(v)) for k, v in err.fmt.items()}
                st.rerun()
            except UserError as err:
                show_error(err)
            else:
                st.session_state.pop(dup_key, None)
                _done(t("facilitator.manage.renamed", name=plain(view.name)), select=day.id)


def _setup(engine: sa.Engine, library: Library, actor: str, day: training.DayView) -> None:
    if day.started:
        st.caption(t("facilitator.manage.setup_fixed", n=day.conversations))
        return
    if not day.is_open:
        return
    choices = {c.id: c for c in training.prompt_choices(engine=engine)}
    with st.expander(t("facilitator.manage.setup_title"), icon=":material/tune:"):
        st.caption(t("facilitator.manage.setup_help"))
        with st.form(f"fa_setup_form_{day.id}"):
            scenario_ids = st.multiselect(
                t("facilitator.scenarios"), sorted(library.scenarios),
                default=[s for s in day.scenario_ids if s in library.scenarios],
                key=f"fa_setup_scenarios_{day.id}",
                format_func=lambda sid: scenario_label(library, sid),
                placeholder=t("common.choose_many"))
            pv_ids = st.multiselect(
                t("facilitator.prompts"), list(choices),
                default=[i for i in day.prompt_version_ids if i in choices],
                key=f"fa_setup_prompts_{day.id}",
                format_func=lambda i: f"{choices[i].target_name} · {choices[i].label} "
                                      f"({choices[i].sha256[:8]})",
                placeholder=t("common.choose_many"))
            if st.form_submit_button(t("facilitator.manage.setup_save")):
                try:
                    training.change_day_setup(
                        engine=engine, library=library, training_day_id=day.id,
                        scenario_ids=scenario_ids, prompt_version_ids=pv_ids,
                        changed_by=actor)
                except UserError as err:
                    show_error(err)
                else:
                    _done(t("facilitator.manage.setup_saved"), select=day.id)


def _archive(engine: sa.Engine, actor: str, day: training.DayView) -> None:
    if day.archived:
        if st.button(t("facilitator.manage.restore"), key=f"fa_restore_{day.id}",
                     icon=":material/unarchive:"):
            training.restore_day(engine=engine, training_day_id=day.id, restored_by=actor)
            _done(t("facilitator.manage.restored"), select=day.id)
        return
    sure = st.checkbox(t("facilitator.manage.archive_confirm"), key=f"fa_archive_sure_{day.id}")
    if st.button(t("facilitator.manage.archive"), disabled=not sure, key=f"fa_archive_{day.id}",
                 icon=":material/archive:"):
        training.archive_day(engine=engine, training_day_id=day.id, archived_by=actor)
        _done(t("facilitator.manage.archived"))


def _delete(engine: sa.Engine, actor: str, day: training.DayView) -> None:
    if not day.deletable:
        st.caption(t("facilitator.manage.cannot_delete", conversations=day.conversations,
                     codes=day.join_codes))
        return
    sure = st.checkbox(t("facilitator.manage.delete_confirm"), key=f"fa_delete_sure_{day.id}")
    if st.button(t("facilitator.manage.delete"), disabled=not sure, key=f"fa_delete_{day.id}",
                 icon=":material/delete:"):
        try:
            training.delete_day(engine=engine, training_day_id=day.id, deleted_by=actor)
        except UserError as err:
            show_error(err)
        else:
            st.session_state.pop("fa_day", None)
            _done(t("facilitator.manage.deleted", name=plain(day.name)))
