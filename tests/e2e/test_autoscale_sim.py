"""`ringmaster autoscale-sim`: the shipped Figure 5.1 trace replayed through the
autoscaler, as the docs show it; a bad trace is refused with its line number.

The shape is the paper's: 3 services x 4,000 = 12,000 ops/s at the start, the
per-service limit raised step by step to 100,000 (300,000 in all) before a 4th
service is added, and back down to 3 x 4,000 when the demand falls.
"""
import json
import subprocess

from rmtest import BIN, REPO

TRACE = REPO / "docs" / "tenants" / "fig51.trace"


def sim(*args):
    return subprocess.run([str(BIN / "ringmaster"), "autoscale-sim", *args],
                          capture_output=True, text=True, timeout=60)


def test_figure_51_shape():
    r = sim("--trace", str(TRACE), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    rows = out["decisions"]
    assert out["interval_s"] == 10
    assert rows[0]["action"] == "start"
    assert (rows[0]["services"], rows[0]["limit"], rows[0]["capacity"]) == (3, 4000, 12000)
    for row in rows:
        assert row["capacity"] == row["services"] * row["limit"], row
        assert row["why"], row

    adds = [i for i, row in enumerate(rows) if row["action"] == "add"]
    assert adds, "no service was added"
    first_add = adds[0]
    # Raised, and only raised, until 3 x 100,000; then the 4th service.
    assert all(row["action"] == "raise" for row in rows[1:first_add]), rows[:first_add]
    before = rows[first_add - 1]
    assert (before["services"], before["limit"], before["capacity"]) == (3, 100000, 300000)
    assert rows[first_add]["services"] == 4
    assert rows[first_add]["capacity"] == 400000
    assert max(row["services"] for row in rows) == 4
    # Gradually: no step more than doubles the limit.
    for a, b in zip(rows[:first_add], rows[1:first_add]):
        assert b["limit"] <= 2 * a["limit"], (a, b)

    # After the peak only steps down, back to the minimum.
    after = rows[first_add + 1:]
    assert after, "never scaled down"
    assert {row["action"] for row in after} <= {"remove", "lower"}, after
    last = rows[-1]
    assert (last["services"], last["limit"], last["capacity"]) == (3, 4000, 12000)


def test_table_matches_json():
    table = sim("--trace", str(TRACE))
    js = sim("--trace", str(TRACE), "--json")
    assert table.returncode == 0 and js.returncode == 0, table.stderr + js.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:6] == ["time", "demand", "action", "services", "limit", "capacity"]
    rows = json.loads(js.stdout)["decisions"]
    assert len(lines) == 1 + len(rows)
    for line, row in zip(lines[1:], rows):
        words = line.split()
        assert words[2] == row["action"]
        assert int(words[3]) == row["services"]
        assert int(words[5].replace(",", "")) == row["capacity"]


def test_bad_trace_is_refused(tmp_path):
    bad = tmp_path / "bad.trace"
    bad.write_text("0s 3000\n10m 12000\n5m 9000\n")
    r = sim("--trace", str(bad))
    assert r.returncode == 1
    assert r.stdout == ""
    assert f"{bad}:3: time '5m' is not after the previous sample's 600s" in r.stderr

    r = sim("--trace", str(tmp_path / "missing.trace"))
    assert r.returncode == 1
    assert "cannot read" in r.stderr and "missing.trace" in r.stderr

    r = sim("--json")
    assert r.returncode == 2
    assert "no trace: give --trace FILE" in r.stderr

    r = sim("--trace", str(TRACE), "--interval", "soon")
    assert r.returncode == 2
    assert "interval 'soon' is not a duration" in r.stderr


def test_docs_show_the_current_output():
    """docs/tenants.md carries the table autoscale-sim prints for the shipped trace."""
    r = sim("--trace", str(TRACE))
    assert r.returncode == 0, r.stderr
    doc = (REPO / "docs" / "tenants.md").read_text()
    assert r.stdout.rstrip("\n") in doc, "docs/tenants.md shows an older output: paste the new one"
