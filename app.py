"""Run the Network Dashboard: `python app.py` (or `gunicorn app:server`)."""

import sys

from dashboard.app_factory import create_app
from dashboard.settings import SettingsError

try:
    app = create_app()
except SettingsError as exc:  # a bad setting stops start-up with one line, not a traceback
    sys.exit(f"error: {exc}")
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
