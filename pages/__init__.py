"""Streamlit pages: thin scripts that read widgets, call the core and render."""
