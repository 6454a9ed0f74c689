"""The Ansible roles and Packer templates stay in step with the programs:
each config template, rendered with its role's defaults, must pass the
program's own check (-n), and every YAML file must parse."""
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
