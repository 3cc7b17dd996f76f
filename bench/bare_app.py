"""The baseline for the intake benchmark: a bare Flask endpoint that answers 200 and does nothing."""

from flask import Flask

app = Flask(__name__)


@app.post("/webhooks/whatsapp")
def receive():
    return "", 200
