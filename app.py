"""Run the Network Dashboard: `python app.py` (or `gunicorn app:server`)."""

import gc
import sys

from dashboard.app_factory import create_app
from dashboard.settings import SettingsError

try:
    app = create_app()
except SettingsError as exc:  # a bad setting stops start-up with one line, not a traceback
    sys.exit(f"error: {exc}")
server = app.server
# What start-up built lives as long as the process: kept out of the garbage collector's
# sight, a full collection during a request scans only what requests made (over the app's
# ~250,000 start-up objects one took ~200 ms, a request's p95), and gunicorn's forked
# workers keep sharing those memory pages.
gc.freeze()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
