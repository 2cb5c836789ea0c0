"""Start page for staff: what each page is for, for this role."""

from __future__ import annotations

import streamlit as st

from workbench.ui import registry
from workbench.ui.guard import require_role
from workbench.ui.i18n import catalogue, t

user = require_role(*registry.STAFF)

st.title(t("home.title", code=user.code))
st.write(t(f"home.role_intro.{user.role}"))
for spec in registry.pages_for(user.role):
    if spec.url_path == "home":
        continue
    st.page_link(spec.path, label=t(spec.title_key), icon=spec.icon)
    about = f"home.about.{spec.url_path}"
    if about in catalogue():  # a page added later may not have a line here yet
        st.caption(t(about))
