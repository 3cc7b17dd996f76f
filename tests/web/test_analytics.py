"""The analytics page: a date range, server-drawn SVG charts, the tables, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flowapp.models import utcnow
from flowapp.services import maintenance
from flowapp.web.analytics import daily_chart, nice_max
from tests import factories
from tests.services.test_analytics import NOW, traffic  # noqa: F401  (fixture)


def test_page_shows_counts_rates_and_an_svg_chart(logged_in, traffic):  # noqa: F811
    """After the roll-up the page shows the totals, the rates, the failure reasons and a chart."""
    maintenance.aggregate_analytics()
    day = NOW.date().isoformat()
    html = logged_in.get(f"/analytics/?from={day}&to={day}").get_data(as_text=True)
    assert '<span class="card-value" id="total-in">3</span>' in html
    assert 'id="rate-failed">50.0%</span>' in html
    assert "<svg" in html and "<rect" in html and "<script" not in html.split("</head>")[1]
    assert "131047" in html and "Re-engagement" in html
    assert 'id="bot-average">30 s' in html and 'id="agent-average">10.0 min' in html


def test_default_range_is_thirty_days(logged_in):
    """Without dates the last 30 days (UTC) are shown."""
    html = logged_in.get("/analytics/").get_data(as_text=True)
    today = utcnow().date()
    assert (
        f'value="{(today - timedelta(days=29)).isoformat()}"' in html
        and f'value="{today.isoformat()}"' in html
    )


def test_bad_ranges_fall_back_with_a_message(logged_in):
    """Reversed, malformed or too long ranges show the default range and say why."""
    for query in ("from=2026-02-01&to=2026-01-01", "from=yesterday", "from=2020-01-01&to=2026-01-01"):
        response = logged_in.get("/analytics/?" + query)
        assert response.status_code == 200
        assert "showing the last 30 days" in response.get_data(as_text=True)


def test_csv_export(logged_in, traffic):  # noqa: F811
    """The export is a CSV attachment with a header and one line per day."""
    maintenance.aggregate_analytics()
    first = (NOW.date() - timedelta(days=1)).isoformat()
    response = logged_in.get(f"/analytics/export.csv?from={first}&to={NOW.date().isoformat()}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0] == "day" and len(rows) == 3
    assert rows[-1][:3] == [NOW.date().isoformat(), "3", "5"]


def test_agents_see_analytics_too(client, user):
    """Analytics is for everyone who logs in (it changes nothing)."""
    factories.login(client, user.email, "correct horse battery")
    assert client.get("/analytics/").status_code == 200


def test_chart_geometry():
    """Bars scale to a round axis maximum; two bars per day; at most about ten date labels."""
    assert [nice_max(v) for v in (0, 1, 3, 7, 12, 180, 999)] == [1, 1, 5, 10, 20, 200, 1000]
    days = [{"day": NOW.date() + timedelta(days=n), "in": n, "out": 2 * n} for n in range(30)]
    chart = daily_chart(days)
    assert len(chart["bars"]) == 60 and len(chart["labels"]) <= 10
    tallest = max(chart["bars"], key=lambda b: b["h"])
    assert tallest["title"].endswith("58 out") and tallest["y"] >= chart["pad"]


def test_aggregate_command_backfills(app, traffic):  # noqa: F811
    """`flask aggregate-analytics --days N` recomputes the counters at once (for backfills)."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from flowapp.cli import aggregate_analytics
    from flowapp.services import analytics

    with app.app_context():
        result = CliRunner().invoke(
            aggregate_analytics, ["--days", "3"], obj=ScriptInfo(create_app=lambda: app)
        )
    assert result.exit_code == 0, result.output
    assert "counters for the last 3 days" in result.output
    assert analytics.report(NOW.date(), NOW.date())["totals"]["in"] == 3


def test_chart_gridlines_are_labelled_with_their_value():
    """Each gridline's label is the count at its height; a half that is no whole number is left out."""
    for most, expected in ((1, [0, 1]), (3, [0, 5]), (7, [0, 5, 10]), (180, [0, 100, 200])):
        chart = daily_chart([{"day": NOW.date(), "in": most, "out": 0}])
        top, plot_h = nice_max(most), chart["bottom"] - chart["pad"]
        assert [tick["value"] for tick in chart["ticks"]] == expected
        for tick in chart["ticks"]:
            assert tick["value"] == round(top * (chart["bottom"] - tick["y"]) / plot_h, 6)


def test_refresh_now_rolls_up_at_once(logged_in, traffic):  # noqa: F811
    """ "Refresh now" runs the roll-up in the request and shows the same range with the new figures."""
    day = NOW.date().isoformat()
    page = f"/analytics/?from={day}&to={day}"
    assert 'id="total-in">0</span>' in logged_in.get(page).get_data(as_text=True)
    token = factories.csrf_token(logged_in, page)
    response = logged_in.post("/analytics/refresh", data={"csrf_token": token, "from": day, "to": day})
    assert response.status_code == 302 and response.headers["Location"] == page
    html = logged_in.get(page).get_data(as_text=True)
    assert 'id="total-in">3</span>' in html and "Figures rolled up just now" in html


def test_refresh_needs_the_csrf_token(logged_in, traffic):  # noqa: F811
    """A refresh posted without the page's CSRF token is refused and rolls nothing up."""
    day = NOW.date().isoformat()
    assert logged_in.post("/analytics/refresh", data={"from": day, "to": day}).status_code == 400
    html = logged_in.get(f"/analytics/?from={day}&to={day}").get_data(as_text=True)
    assert 'id="total-in">0</span>' in html
