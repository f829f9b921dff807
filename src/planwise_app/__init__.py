"""PlanWise Navigator for analysts: a Streamlit app that is layout plus calls into `planwise`.

Start it with `planwise ui`; `app.py` is the script Streamlit runs. Importing this package
imports nothing from Streamlit, so the CLI can locate the app without loading it.
"""

from pathlib import Path

__all__ = ["APP_SCRIPT"]

APP_SCRIPT = Path(__file__).with_name("app.py")
