"""The Ansible roles and Packer templates stay in step with the programs:
each config template, rendered with its role's defaults, must pass the
program's own check (-n), and every YAML file must parse."""
import re
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

import rmtest

ANSIBLE = rmtest.REPO / "ansible"


def render(template, defaults, tmp_path):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    values = yaml.safe_load(defaults.read_text())
    # Facts Ansible would supply; the template must not need anything else.
    values = {k: (v if not (isinstance(v, str) and "{{" in v) else "127.0.0.1")
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


def test_yaml_parses():
    files = sorted(ANSIBLE.rglob("*.yml"))
    assert len(files) >= 7
    for f in files:
        yaml.safe_load(f.read_text())


def test_packer_templates_install_both_roles():
    for kind, role in (("orchestrator", "orchestrator"), ("node", "node")):
        text = (rmtest.REPO / "packer" / f"{kind}.pkr.hcl").read_text()
        assert f"RINGMASTER_ROLE={role}" in text
        assert "scripts/install.sh" in text
    script = (rmtest.REPO / "packer" / "scripts" / "install.sh").read_text()
    assert "make install PREFIX=/usr" in script


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
