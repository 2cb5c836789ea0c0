"""Bot targets: add a bot to test, and give it a new system prompt (each text is a version)."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import BotKind, Role
from workbench.services import targets, training
from workbench.ui import state
from workbench.ui.components import baseline_label, plain
from workbench.ui.guard import require_role
from workbench.ui.i18n import t

user = require_role(Role.facilitator, Role.developer)
engine = state.engine()

st.title(t("bots.title"))
st.write(t("bots.intro"))

shown = targets.list_targets(engine=engine)  # also makes sure the reference bot exists
for target in shown:
    with st.container(border=True):
        st.markdown(f"**{plain(target.name)}** · {t('bots.kind.' + target.kind)}")
        st.caption(t("bots.current_prompt", label=plain(target.prompt_label or "-"),
                     sha=(target.prompt_sha or "")[:8], n=target.n_prompt_versions))
        if target.kind == BotKind.reference:
            st.caption(baseline_label())

st.subheader(t("bots.set_prompt"))
choices = training.prompt_choices(engine=engine)
names = [tg.name for tg in shown if tg.kind != BotKind.replay]
if names:
    name = st.selectbox(t("bots.target"), names, key="bt_prompt_target")
    current = next((c.content for c in choices if c.target_name == name and c.is_current), "")
    with st.form("bt_prompt_form"):
        prompt = st.text_area(t("bots.prompt"), value=current, height=240,
                              key=f"bt_prompt_text_{name}")
        label = st.text_input(t("bots.label"), key=f"bt_prompt_label_{name}",
                              placeholder=t("bots.label_placeholder"))
        if st.form_submit_button(t("bots.save_prompt"), type="primary"):
            if not prompt.strip() or not label.strip():
                st.error(t("bots.prompt_and_label_needed"))
            else:
                targets.set_target_prompt(engine=engine, name=name, prompt=prompt,
                                       label=label.strip())
                st.success(t("bots.prompt_saved"))

st.subheader(t("bots.add"))
with st.form("bt_add_form"):
    new_name = st.text_input(t("bots.name"), key="bt_name")
    kind = st.selectbox(t("bots.kind_label"), [BotKind.openai, BotKind.reference],
                        format_func=lambda k: t(f"bots.kind.{k}"), key="bt_kind")
    base_url = st.text_input(t("bots.base_url"), key="bt_base_url",
                             placeholder="http://127.0.0.1:8000/v1")
    model = st.text_input(t("bots.model"), key="bt_model")
    api_key_env = st.text_input(t("bots.api_key_env"), key="bt_api_key_env")
    st.caption(t("bots.api_key_env_help"))
    prompt = st.text_area(t("bots.prompt"), value=targets.default_prompt(), height=200,
                          key="bt_new_prompt")
    label = st.text_input(t("bots.label"), value="v1", key="bt_new_label")
    if st.form_submit_button(t("bots.add_button")):
        try:
            targets.add_target(engine=engine, name=new_name.strip(), kind=BotKind(kind),
                            prompt=prompt, label=label.strip() or "v1",
                            base_url=base_url.strip() or None, model=model.strip() or None,
                            api_key_env=api_key_env.strip() or None)
        except targets.BotSetupError as err:
            st.error(t("bots.add_failed", reason=str(err)))
        else:
            st.rerun()
