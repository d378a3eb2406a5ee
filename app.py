"""Run the Network Dashboard: `python app.py` (or `gunicorn app:server`)."""

from dashboard.app_factory import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
