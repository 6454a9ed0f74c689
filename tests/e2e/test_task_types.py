"""One registry of task types (orchestrator/engine/params.h, each type's
table): GET /api/v1/task-types is what the engine registers, docs/api.md's
task-type section is generated from it (this test compares them; run with
RM_UPDATE_DOCS=1 to write the section anew), every bad parameter is refused
with 400 naming it, and ringsh lists the server's types."""
import json
import os
import re
import subprocess
from pathlib import Path

from orch import bin_path, orch, orch_factory  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
API_MD = REPO / "docs" / "api.md"
BEGIN = "<!-- task-types: generated from GET /api/v1/task-types by tests/e2e/test_task_types.py -->"
END = "<!-- /task-types -->"
TYPES = {"noop", "node-status", "backup", "restore", "verify", "purge", "backup-index", "repair",
         "replace", "removenode", "rolling-restart", "config-change", "upgrade",
         "decommission", "scale-in", "scale-out", "remediate", "scale-tenant"}


def fmt_num(v):
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def render(types):
    out = [BEGIN, ""]
    for t in sorted(types, key=lambda t: t["name"]):
        out.append(f"#### `{t['name']}`")
        out.append("")
        out.append(f"{t['description']}.  Steps: {t['steps']}.")
        out.append("")
        if not t["params"]:
            out.append("No parameters.")
            out.append("")
            continue
        out.append("| param | type | default | range | meaning |")
        out.append("|---|---|---|---|---|")
        for p in t["params"]:
            d = "—" if p["default"] is None else f"`{json.dumps(p['default'])}`"
            if p.get("required"):
                d = "required"
            if p.get("env"):
                d = f"`${p['env']}`" if d == "—" else d + f", or `${p['env']}`"
            rng = ""
            if "min" in p:
                lo = ("> " if p.get("min_exclusive") else "") + fmt_num(p["min"])
                rng = f"{lo} .. {fmt_num(p['max'])}"
            out.append(f"| `{p['name']}` | {p['type']} | {d} | {rng} | {p['description']} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def section(text):
    m = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.S)
    return m.group(0) if m else None


def test_registry_docs_and_refusals(orch):  # noqa: F811
    r = orch.ok("GET", "/api/v1/task-types")
    types = r["items"]
    assert {t["name"] for t in types} == TYPES
    for t in types:
        assert t["description"] and t["steps"], t
        one = orch.ok("GET", f"/api/v1/task-types/{t['name']}")
        assert one == t
        names = [p["name"] for p in t["params"]]
        assert len(names) == len(set(names)), t
    assert orch.get("/api/v1/task-types/nope").status_code == 404

    # docs/api.md carries exactly what the registry says.
    want = render(types)
    text = API_MD.read_text()
    if os.environ.get("RM_UPDATE_DOCS") == "1":
        have = section(text)
        API_MD.write_text(text.replace(have, want) if have else text + "\n" + want + "\n")
        text = API_MD.read_text()
    assert section(text) == want, (
        "docs/api.md's task-type section differs from GET /api/v1/task-types: "
        "run RM_UPDATE_DOCS=1 pytest tests/e2e/test_task_types.py and review")

    # Every integer/number parameter refuses a value past its range, by name;
    # every parameter refuses a value of the wrong type; unknown keys are named.
    orch.create_cluster("c1")
    for t in types:
        for p in t["params"]:
            bads = [{"x": 1}] if p["type"] not in ("source", "retention") else ["x"]
            if p["type"] in ("integer", "number"):
                bads.append(p["max"] + 1)
            for bad in bads:
                res = orch.post("/api/v1/clusters/c1/tasks",
                                {"type": t["name"], "params": {p["name"]: bad}})
                assert res.status_code == 400, (t["name"], p["name"], bad, res.text)
                assert p["name"] in res.json()["error"]["message"], res.text
        res = orch.post("/api/v1/clusters/c1/tasks",
                        {"type": t["name"], "params": {"frobnicate": 1}})
        assert res.status_code == 400 and "unknown parameter 'frobnicate'" in res.text
        if t["params"]:
            assert t["params"][0]["name"] in res.json()["error"]["message"], res.text

    # Defaults are filled in: a noop's params come back complete.
    task = orch.submit("c1", "noop")
    assert task["params"]["steps"] == 1 and task["params"]["duration_s"] == 0


def test_ringsh_lists_the_servers_types(orch, tmp_path):  # noqa: F811
    env = dict(os.environ, HOME=str(tmp_path))
    tok = tmp_path / "token"
    tok.write_text(orch.admin_token + "\n")
    base = [str(bin_path("ringsh")), "--url", orch.base, "--token-file", str(tok), "-c"]
    r = subprocess.run(base + ["types"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.splitlines()
              if line and not line.startswith(("'", " "))}
    assert listed == TYPES, r.stdout
    r = subprocess.run(base + ["types repair"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode == 0 and "segments_per_node" in r.stdout and "1..1024" in r.stdout, r.stdout
    r = subprocess.run(base + ["types nope"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode != 0 and "not found" in (r.stdout + r.stderr)
