"""Start Streamlit for geoapp: ``python -m pages.serve run streamlit_app.py [flags]``.

A ``pages/`` folder beside the entry script makes Streamlit fall back to its old
folder-based page mode until somebody opens ``/``: until then a link straight to
``/gaps`` would run that page without the entry script (no layout, no language
switch). geoapp routes with ``st.navigation`` only, so the flag is settled here,
before the server starts. ``geoapp run`` (geoapp/launcher.py) calls this module.
"""

from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli


def main() -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
