"""Login, logout, default-deny access and CSRF."""

import re

import pytest

from flowapp.services import login_throttle
from flowapp.web.security import CONTENT_SECURITY_POLICY
from tests import factories, live

PAGES = ["/automations/", "/inbox/", "/analytics/", "/settings/", "/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_login(client, path):
    """Every page redirects an anonymous visitor to the login page."""
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_every_route_is_protected_unless_public(app, client):
    """Walk the URL map: only login, health, static, the icon and webhooks answer without a login."""
    public_prefixes = ("/login", "/healthz", "/static/", "/webhooks/whatsapp", "/favicon.ico")
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments:
            continue
        response = client.get(rule.rule)
        response.close()  # the icon is a file response: release the file
        if rule.rule.startswith(public_prefixes):
            continue
        assert response.status_code in (302, 401), (
            f"{rule.rule} answered {response.status_code} without login"
        )


def test_htmx_request_gets_hx_redirect(client):
    """An HTMX request without a session is told to navigate to the login page."""
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_login_and_shell(client, admin):
    """A correct login lands in the shell with its navigation."""
    factories.login(client, admin.email, "correct horse battery")
    html = client.get("/automations/").get_data(as_text=True)
    for label in ("Automations", "Inbox", "Contacts", "Analytics", "Settings"):
        assert f">{label}</a>" in html or f"{label}</a>" in html
    assert admin.email in html
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client, admin):
    """A wrong password answers 401 with a message and no session."""
    token = factories.csrf_token(client)
    response = client.post(
        "/login", data={"email": admin.email, "password": "nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/inbox/").status_code == 302


def test_inactive_user_cannot_log_in(client, session):
    """A deactivated account cannot log in."""
    factories.make_user(email="gone@example.com", active=False)
    token = factories.csrf_token(client)
    response = client.post(
        "/login", data={"email": "gone@example.com", "password": "correct horse battery", "csrf_token": token}
    )
    assert response.status_code == 401


def test_login_without_csrf_token_is_refused(client, admin):
    """A login POST without the CSRF token is refused."""
    response = client.post("/login", data={"email": admin.email, "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/inbox/").status_code == 302


def test_next_only_goes_to_local_paths(client, admin):
    """The `next` parameter cannot send a person to another site."""
    token = factories.csrf_token(client)
    data = {"email": admin.email, "password": "correct horse battery", "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/settings/")})
    token = factories.csrf_token(client)
    response = client.post("/login?next=/inbox/", data={**data, "csrf_token": token})
    assert response.headers["Location"] == "/inbox/"


def test_logout_needs_post_with_csrf(logged_in):
    """Logout is a POST carrying the CSRF token; a GET or a tokenless POST does nothing."""
    assert logged_in.get("/logout").status_code == 405
    assert logged_in.post("/logout").status_code == 400
    assert logged_in.get("/inbox/").status_code == 200
    token = factories.csrf_token(logged_in, "/inbox/")
    assert logged_in.post("/logout", data={"csrf_token": token}).status_code == 302
    assert logged_in.get("/inbox/").status_code == 302


def test_htmx_requests_carry_csrf_header(logged_in):
    """The X-CSRFToken header (what app.js adds to HTMX requests) is accepted for POSTs."""
    token = factories.csrf_token(logged_in, "/inbox/")
    response = logged_in.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


def test_security_headers(logged_in):
    """Pages are sent with a strict content security policy and no-sniff."""
    response = logged_in.get("/inbox/")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert (
        "script-src 'self'" in CONTENT_SECURITY_POLICY
        and "unsafe-inline" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_password_is_hashed_with_scrypt(admin):
    """Passwords are stored as scrypt hashes, never as text."""
    assert admin.password_hash.startswith("scrypt:")
    assert "correct horse battery" not in admin.password_hash


def test_paused_sending_shows_an_alert_on_every_page(logged_in):
    """While Meta refuses the token, every page says sending is paused."""
    from flowapp.services import settings

    settings.put("sending_paused", {"reason": "Access token expired.", "code": 190, "since": "now"})
    for path in ("/inbox/", "/automations/", "/settings/"):
        assert "Sending is paused." in logged_in.get(path).get_data(as_text=True)


def test_remember_me_cookie_has_the_session_cookies_flags_in_production(
    app, client, admin, make_app, monkeypatch
):
    """In production "Keep me logged in" sets a cookie that is Secure, HttpOnly and SameSite=Lax,
    like the session cookie."""
    production = make_app(FLOWAPP_ENV="production").config
    cookie_settings = {
        k: v for k, v in production.items() if k.startswith(("SESSION_COOKIE_", "REMEMBER_COOKIE_"))
    }
    assert production["REMEMBER_COOKIE_SECURE"] and production["SESSION_COOKIE_SECURE"]
    for key, value in cookie_settings.items():  # the test app, configured as production configures
        monkeypatch.setitem(app.config, key, value)
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        data={
            "email": admin.email,
            "password": "correct horse battery",
            "csrf_token": token,
            "remember": "y",
        },
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},  # CSRF over HTTPS checks the referrer
    )
    assert response.status_code == 302
    cookies = {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        flags = cookies[name].lower()
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, cookies[name]


def _attempt(client, email, password):
    token = factories.csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _end_waits(redis):
    """The running waits end now (as if their time had passed): no sleeping in tests."""
    for key in redis.scan_iter("flowapp:login:*:wait"):
        redis.pexpire(key, 1)
    live.wait_for(lambda: not list(redis.scan_iter("flowapp:login:*:wait")), 5, "the waits to end")


def test_guessing_a_password_gets_slower_and_the_owner_gets_back_in(client, admin, redis):
    """Thirty wrong passwords in a row: five are answered, then each attempt is refused with 429
    and Retry-After while its wait runs, the right password included; once the wait is over the
    right password works, and it clears the count."""
    answers = [_attempt(client, admin.email, f"wrong-{n}") for n in range(30)]
    codes = [a.status_code for a in answers]
    assert codes[:6] == [401] * 6  # the sixth failure starts the first wait (1 s)
    # Each later password check had to wait out a doubling wait (1, 2, 4 ... s): however slow the
    # machine, a few of the 24 attempts at most reached it; the rest were refused unchecked.
    assert codes.count(401) <= 11 and codes.count(429) >= 19 and set(codes) == {401, 429}
    refused = [a for a in answers if a.status_code == 429]
    assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in refused)
    assert "Too many failed attempts" in refused[-1].get_data(as_text=True)
    assert _attempt(client, admin.email, "correct horse battery").status_code == 429
    _end_waits(redis)
    assert _attempt(client, admin.email, "correct horse battery").status_code == 302
    assert not redis.exists("flowapp:login:account:" + login_throttle._account(admin.email) + ":count")


def test_waits_grow_and_stop_at_a_minute(session, redis):
    """1, 2, 4 ... seconds after the free attempts, never more than a minute per account."""
    from flowapp.services import login_throttle as throttle

    waits = []
    for _ in range(15):
        waits.append(throttle.failed("someone@example.com", None))
    assert waits[:5] == [0] * 5
    assert waits[5:12] == [1, 2, 4, 8, 16, 32, 60] and set(waits[12:]) == {60}


def test_one_address_trying_many_accounts_is_slowed_too(client, redis, session):
    """Twenty failures from one public address, each on another account: the address must then
    wait. A private address (a reverse proxy's, which every request would share) is not counted."""
    public = {"REMOTE_ADDR": "93.184.216.34"}  # a global address (documentation ranges are not)
    codes = []
    for n in range(22):
        token = factories.csrf_token(client)
        data = {"email": f"nobody{n}@example.com", "password": "guess", "csrf_token": token}
        codes.append(client.post("/login", data=data, environ_base=public).status_code)
    assert codes[:20] == [401] * 20 and codes[21] == 429
    proxied = [_attempt(client, f"other{n}@example.com", "guess").status_code for n in range(22)]
    assert proxied == [401] * 22  # from 127.0.0.1: only each account is counted


def test_without_redis_logins_are_not_throttled(app, client, admin, monkeypatch):
    """Redis down: no throttling (an outage must not lock everyone out); logins still work."""
    from flowapp import extensions

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.extensions, "flowapp_redis_quick", None)
    try:
        assert all(_attempt(client, admin.email, "wrong").status_code == 401 for _ in range(8))
        assert _attempt(client, admin.email, "correct horse battery").status_code == 302
    finally:
        extensions.redis_answered()
        if app.extensions.get("flowapp_redis_quick") is not None:
            app.extensions["flowapp_redis_quick"].close()
