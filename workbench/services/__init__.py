"""Use-cases shared by the CLI and the Streamlit pages. Shells call these; these call storage."""
