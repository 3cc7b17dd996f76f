"""Error answers: JSON under /api and /webhooks, HTML elsewhere, never a trace or SQL."""

from flask import Blueprint

from flowapp.web.security import public


def test_json_404_under_api(client):
    """An unknown /api path answers the JSON error shape."""
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["message"]
    assert set(response.get_json()) == {"error"}


def test_html_404_elsewhere(logged_in):
    """An unknown page answers an HTML page."""
    response = logged_in.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)


def test_unhandled_error_hides_details(make_app, redis):
    """A crash answers 500 with a reference, not the exception, its trace or its SQL."""
    app = make_app()
    bp = Blueprint("boom", __name__)

    @bp.get("/webhooks/boom")
    @public
    def boom():
        raise RuntimeError("SELECT secret FROM users -- internal detail")

    @bp.get("/boom-page")
    @public
    def boom_page():
        raise RuntimeError("SELECT secret FROM users -- internal detail")

    app.register_blueprint(bp)
    client = app.test_client()
    response = client.get("/webhooks/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    assert "SELECT" not in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] in body["error"]["message"]
    page = client.get("/boom-page")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "SELECT" not in page.get_data(as_text=True) and "Traceback" not in page.get_data(as_text=True)
