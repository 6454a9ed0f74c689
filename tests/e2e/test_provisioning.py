"""The Ansible roles and Packer templates stay in step with the programs:
each config template, rendered with its role's defaults, must pass the
program's own check (-n), and every YAML file must parse."""
import json
import re
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

import rmtest
from orch import orch, orch_factory  # noqa: F401

ANSIBLE = rmtest.REPO / "ansible"


def render(template, defaults, tmp_path, overrides=None, hosts=("rm1.example.net",)):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    values = yaml.safe_load(defaults.read_text())
    values.update(overrides or {})
    # Defaults that use facts are rendered with the few Ansible would supply
    # (the orchestrator group, the playbook directory); the template itself
    # must need nothing else.
    facts = {"groups": {"ringmaster": list(hosts)}, "playbook_dir": "/srv/ansible",
             "inventory_hostname": hosts[-1]}
    lenient = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    values = {k: (lenient.from_string(v).render(**{**values, **facts}) if isinstance(v, str) and "{{" in v else v)
              for k, v in values.items()}
    text = env.from_string(template.read_text()).render(**values)
    out = tmp_path / template.name.removesuffix(".j2")
    out.write_text(text)
    return out


@pytest.mark.parametrize("role,template,prog", [
    ("orchestrator", "ringmaster.conf.j2", "ringmaster"),
    ("node", "agent.conf.j2", "ringagent"),
])
def test_template_passes_config_check(bin_dir, tmp_path, role, template, prog):
    conf = render(ANSIBLE / "roles" / role / "templates" / template,
                  ANSIBLE / "roles" / role / "defaults" / "main.yml", tmp_path)
    r = subprocess.run([str(bin_dir / prog), "-n", "-f", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, f"{prog} -n refused the rendered {template}:\n{r.stdout}{r.stderr}"


def test_ha_templates_pass_config_check(bin_dir, tmp_path):
    """Two orchestrators with etcd and a mirror: each one's configuration
    passes ringmaster -n with its own advertise_url, and the agents are
    given both URLs."""
    key = tmp_path / "mirror.key"
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o600)
    hosts = ("rm1.example.net", "rm2.example.net")
    conf = render(ANSIBLE / "roles/orchestrator/templates/ringmaster.conf.j2",
                  ANSIBLE / "roles/orchestrator/defaults/main.yml", tmp_path,
                  {"ringmaster_ha": "etcd",
                   "ringmaster_etcd_endpoints": ["http://etcd1:2379", "http://etcd2:2379"],
                   "ringmaster_ha_prefix": "/ringmaster/prod",
                   "ringmaster_state_mirror": "s3://acme-ringmaster/prod",
                   "ringmaster_state_mirror_region": "eu-west-1",
                   "ringmaster_state_mirror_key_file": str(key)}, hosts)
    text = conf.read_text()
    assert "advertise_url = https://rm2.example.net:7400\n" in text, text
    assert "etcd_endpoints = http://etcd1:2379, http://etcd2:2379\n" in text, text
    assert f"state_mirror_key_file = {key}\n" in text, text
    r = subprocess.run([str(bin_dir / "ringmaster"), "-n", "-f", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, f"ringmaster -n refused the ha configuration:\n{r.stdout}{r.stderr}\n{text}"
    # Without the mirror, ringmaster itself says what is missing (the role
    # asserts it earlier, with the variable's name).
    bare = render(ANSIBLE / "roles/orchestrator/templates/ringmaster.conf.j2",
                  ANSIBLE / "roles/orchestrator/defaults/main.yml", tmp_path,
                  {"ringmaster_ha": "etcd", "ringmaster_etcd_endpoints": ["http://etcd1:2379"]}, hosts)
    r = subprocess.run([str(bin_dir / "ringmaster"), "-n", "-f", str(bare)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "state_mirror" in r.stderr, r.stdout + r.stderr
    agent = render(ANSIBLE / "roles/node/templates/agent.conf.j2",
                   ANSIBLE / "roles/node/defaults/main.yml", tmp_path, None, hosts)
    text = agent.read_text()
    assert "orchestrator = https://rm1.example.net:7400, https://rm2.example.net:7400\n" in text, text
    r = subprocess.run([str(bin_dir / "ringagent"), "-n", "-f", str(agent)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ha_role_shares_one_set_of_secrets():
    """With ringmaster_ha, only the first orchestrator makes the CA, SSH key,
    join token, mirror key and admin token; the others copy them from it,
    hidden from the output, and start after it."""
    orch = yaml.safe_load((ANSIBLE / "roles/orchestrator/tasks/main.yml").read_text())
    by_name = {t["name"]: t for t in orch}
    for name in ("Make a CA for the fleet", "Make the SSH key the orchestrator logs in to the nodes with",
                 "Join token", "The state mirror's sealing key", "Admin token"):
        assert "ringmaster_makes_secrets" in by_name[name]["when"], name
    for name in ("Read the shared secrets from the first orchestrator",
                 "Read the admin token from the first orchestrator"):
        t = by_name[name]
        assert t["delegate_to"] == "{{ groups['ringmaster'][0] }}" and t["run_once"] is True, name
        assert t["no_log"] is True, name
    for name in ("The group's CA, SSH key, join token and mirror key", "The group's admin token"):
        assert by_name[name]["when"] == "not ringmaster_makes_secrets | bool" and by_name[name]["no_log"] is True
    order = [t["name"] for t in orch]
    assert order.index("Service") < order.index("Wait until the group has an active orchestrator") \
        < order.index("Service (standbys)")
    assert order.index("The state mirror's sealing key") < order.index(
        "Read the shared secrets from the first orchestrator") < order.index(
        "The group's CA, SSH key, join token and mirror key") < order.index(
        "Issue the orchestrator's certificate from the CA")


def test_yaml_parses():
    files = sorted(ANSIBLE.rglob("*.yml"))
    assert len(files) >= 7
    for f in files:
        yaml.safe_load(f.read_text())


@pytest.mark.parametrize("kind", ["orchestrator", "node"])
def test_packer_template_validates(tmp_path, kind):
    """Debian's packer accepts the template as packer/build.sh calls it, and
    the image installs the packages through install.sh (no compiler)."""
    text = (rmtest.REPO / "packer" / f"{kind}.pkr.hcl").read_text()
    assert f"RINGMASTER_ROLE={kind}" in text and "scripts/install.sh" in text
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True, timeout=30)
    (tmp_path / "seed").mkdir()
    (tmp_path / "debs").mkdir()
    r = subprocess.run(["packer", "validate", "-var", f"source_image={tmp_path}/base.qcow2",
                        "-var", f"deb_dir={tmp_path}/debs", "-var", f"seed_dir={tmp_path}/seed",
                        "-var", f"ssh_private_key_file={key}",
                        str(rmtest.REPO / "packer" / f"{kind}.pkr.hcl")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    script = (rmtest.REPO / "packer" / "scripts" / "install.sh").read_text()
    code = re.sub(r"#.*|\"[^\"]*\"", "", script)  # not comments, not messages
    assert not re.search(r"\b(make|gcc|cc)\b", code), code


SECURITY_LIMITS = {"ringmaster.service": 3.0, "ringagent.service": 3.0}


@pytest.mark.parametrize("unit", sorted(SECURITY_LIMITS))
def test_unit_sandbox_exposure(tmp_path, unit):
    """systemd's own rating of the unit as packaged (PREFIX=/usr), offline."""
    text = (rmtest.REPO / "packaging" / unit).read_text().replace("@PREFIX@", "/usr")
    path = tmp_path / unit
    path.write_text(text)
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(path)],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, f"no exposure level from systemd-analyze:\n{r.stdout}\n{r.stderr}"
    assert float(m.group(1)) <= SECURITY_LIMITS[unit], r.stdout
    if unit == "ringmaster.service":
        assert "User=ringmaster" in text


def test_deb_version_matches_program_version(bin_dir):
    first = (rmtest.REPO / "debian" / "changelog").read_text().splitlines()[0]
    m = re.match(r"ringmaster \(([^)]+)\)", first)
    assert m, first
    v = subprocess.run([str(bin_dir / "ringmaster"), "--version"], capture_output=True,
                       text=True, timeout=10).stdout.split()
    assert v == ["ringmaster", m.group(1)], (v, first)


def completions(bin_dir, *words):
    """Run the packaged bash completion for ringsh on the given words (the
    last one is being completed) and return what it offers."""
    script = (
        "source /usr/share/bash-completion/bash_completion\n"
        f"source {rmtest.REPO / 'packaging/bash-completion/ringsh'}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n'
        '_ringsh; printf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "-c", script, "bash", str(bin_dir / "ringsh"), *words],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_bash_completion_follows_the_command_table(bin_dir):
    help_text = subprocess.run([str(bin_dir / "ringsh"), "-c", "help"], capture_output=True,
                               text=True, timeout=10).stdout
    commands = set(re.findall(r"^  ([a-z]+) ", help_text, re.M))
    assert {"clusters", "backup", "repair", "help"} <= commands, help_text
    assert completions(bin_dir, "-c", "") == commands
    assert completions(bin_dir, "-c", "ba") == {c for c in commands if c.startswith("ba")}
    usage = subprocess.run([str(bin_dir / "ringsh"), "--help"], capture_output=True,
                           text=True, timeout=10)
    options = set(re.findall(r"(--[a-z-]+)", usage.stdout + usage.stderr))
    # --help prints this very text and is not listed in it.
    assert options and completions(bin_dir, "--") == options | {"--help"}


MONITORING = rmtest.REPO / "monitoring"


def test_alert_rules_check_and_pass_their_unit_tests():
    r = subprocess.run(["promtool", "check", "rules", str(MONITORING / "alerts.yml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    names = set(re.findall(r"^\s+- alert: (\w+)", (MONITORING / "alerts.yml").read_text(), re.M))
    assert {"RingmasterNodeDown", "RingmasterBackupTooOld", "RingmasterBackupFailing",
            "RingmasterRepairOverdue", "RingmasterQueueStuck"} <= names
    tested = set(re.findall(r"alertname: (\w+)", (MONITORING / "alerts_test.yml").read_text()))
    assert names == tested, f"alerts without a promtool test: {names - tested}"
    r = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=MONITORING,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def dashboard_queries():
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = []
    for p in dash["panels"]:
        exprs += [t["expr"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
    return exprs


def test_dashboard_queries_name_exported_metrics(orch_factory, tmp_path):
    """Every metric a dashboard query names is a family /metrics exports (its
    # TYPE line, present even before the first sample).  The state mirror's
    families exist only with state_mirror set, and the alerts name them."""
    orch = orch_factory(conf={"state_mirror": f"file://{tmp_path / 'mirror'}"})
    r = orch.get("/metrics", token=None)
    assert r.status_code == 200
    families = set(re.findall(r"^# TYPE (\S+) (\S+)", r.text, re.M))
    exported = set()
    for name, kind in families:
        exported.add(name)
        if kind == "histogram":
            exported |= {name + "_bucket", name + "_sum", name + "_count"}
    exprs = dashboard_queries()
    assert len(exprs) >= 15
    used = set()
    for e in exprs:
        names = set(re.findall(r"\bringmaster_[a-z_]+", e))
        assert names, f"query names no ringmaster metric: {e}"
        used |= names
    assert used <= exported, f"not exported by /metrics: {sorted(used - exported)}"
    for needed in ("ringmaster_last_success_timestamp_seconds", "ringmaster_nodes",
                   "ringmaster_task_failures_total", "ringmaster_backup_bytes_uploaded"):
        assert needed in used, needed
    # The alert rules may only name exported metrics too (plus Prometheus's up).
    rules = (MONITORING / "alerts.yml").read_text()
    assert set(re.findall(r"\bringmaster_[a-z_]+", rules)) <= exported


@pytest.mark.parametrize("conf,ok", [
    ("listen = 0.0.0.0:7400\n", False),
    ("listen = [::]:7400\n", False),
    ("listen = 10.0.0.5:7400\n", False),
    ("listen = 0.0.0.0:7400\nallow_plaintext = yes\n", True),
    ("listen = 0.0.0.0:7400\ntls_cert = /x/cert.pem\ntls_key = /x/key.pem\n", True),
    ("listen = 127.0.0.1:7400\n", True),
    ("listen = [::1]:7400\n", True),
    ("listen = localhost:7400\n", True),
])
def test_plaintext_on_the_network_is_refused(bin_dir, tmp_path, conf, ok):
    path = tmp_path / "ringmaster.conf"
    path.write_text(conf)
    r = subprocess.run([str(bin_dir / "ringmaster"), "-n", "-f", str(path)],
                       capture_output=True, text=True, timeout=10)
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    else:
        assert r.returncode == 1, r.stdout + r.stderr
        assert "allow_plaintext" in r.stderr and "tls_cert" in r.stderr, r.stderr


def test_packaged_config_uses_tls(bin_dir, tmp_path):
    text = (rmtest.REPO / "packaging" / "ringmaster.conf").read_text()
    assert re.search(r"^tls_cert = ", text, re.M) and re.search(r"^listen = 0\.0\.0\.0", text, re.M)
    r = subprocess.run([str(bin_dir / "ringmaster"), "-n", "-f",
                        str(rmtest.REPO / "packaging" / "ringmaster.conf")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr
    plain = tmp_path / "plain.conf"
    plain.write_text(re.sub(r"^tls_(cert|key) = .*$", "", text, flags=re.M))
    r = subprocess.run([str(bin_dir / "ringmaster"), "-n", "-f", str(plain)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1, "the packaged listen address must need TLS"


def test_ansible_lint_production_profile():
    r = subprocess.run(["ansible-lint", "-p", "--nocolor", "--profile", "production", "site.yml"],
                       cwd=ANSIBLE, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ansible_secrets_and_ssh_restriction():
    node = yaml.safe_load((ANSIBLE / "roles/node/tasks/main.yml").read_text())
    orch = yaml.safe_load((ANSIBLE / "roles/orchestrator/tasks/main.yml").read_text())
    by_name = {t["name"]: t for t in node + orch}
    # Every task that reads or writes the join token or a TLS key hides it.
    for t in node + orch:
        text = yaml.safe_dump(t)
        if "join.token" in text and "wait_for" not in text or "tls_key_src" in text:
            assert t.get("no_log") is True, t["name"]
    key = by_name["The orchestrator's key may run ringagent and nothing else"]
    opts = key["ansible.posix.authorized_key"]["key_options"]
    assert opts.startswith("restrict,") and 'command="/usr/local/lib/ringmaster/ringagent-ssh"' in opts
    # Nodes read from the orchestrator host themselves: no hostvars of a
    # play that --limit may have skipped.
    assert "hostvars" not in (ANSIBLE / "roles/node/tasks/main.yml").read_text()
    conf = (ANSIBLE / "roles/orchestrator/templates/ringmaster.conf.j2").read_text()
    # TLS is never conditional: only the optional mirror and ha keys are.
    assert "tls_cert = " in conf.split("{% if")[0] and "tls_key = " in conf.split("{% if")[0]


@pytest.mark.parametrize("cmd,argv", [
    ("ringagent status --json", ["status", "--json"]),
    ("/usr/bin/ringagent snapshot --tag 'a b' --json", ["snapshot", "--tag", "a b", "--json"]),
    ("ringagent *", ["*"]),
    ("ringagent status; id", None),
    ("ringagent $(id)", None),
    ("ringagent `id`", None),
    ("ringagent status | sh", None),
    ("ringagent status\nid", None),
    ("id", None),
    ("", None),
])
def test_forced_command_runs_only_ringagent(tmp_path, cmd, argv):
    fake = tmp_path / "ringagent"
    fake.write_text('#!/bin/sh\nfor a; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    script = (ANSIBLE / "roles/node/files/ringagent-ssh").read_text()
    assert script.count("exec /usr/bin/ringagent ") == 1
    wrapper = tmp_path / "ringagent-ssh"
    wrapper.write_text(script.replace("exec /usr/bin/ringagent ", f"exec {fake} "))
    r = subprocess.run(["sh", str(wrapper)], env={"SSH_ORIGINAL_COMMAND": cmd, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=10)
    if argv is None:
        assert r.returncode == 126 and "only runs ringagent" in r.stderr, (r.stdout, r.stderr)
        assert r.stdout == ""
    else:
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == argv
