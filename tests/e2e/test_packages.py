"""The Debian packages built by `make deb` pass lintian and install into a
fresh Debian 12 with nothing but apt: each program runs there, the packaged
configuration is accepted, ringmaster serves HTTPS with the certificate its
postinst made, the units are enabled and no compiler came along.

Slow (debootstrap, apt, lintian): run by `make test-packages`, which builds
the packages and sets RM_DEB_DIR; `make test` skips this file.  The minbase
chroot is made once with debootstrap and kept as
/var/tmp/ringmaster-test-packages/base.tar
(nothing of ours is in it), then unpacked fresh for every run.  Needs root
and deb.debian.org.
"""
import contextlib
import os
import shutil
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

import rmtest

if not os.environ.get("RM_DEB_DIR"):
    pytest.skip("Debian package checks run with make test-packages (slow)",
                allow_module_level=True)

DEB_DIR = Path(os.environ["RM_DEB_DIR"])
# Outside build/: the Makefile reads every *.d under build/, and a Debian
# root is full of them.
CACHE = Path(os.environ.get("RM_PKG_CACHE", "/var/tmp/ringmaster-test-packages"))
MIRROR = os.environ.get("RM_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ("ringmaster", "ringagent", "ringsh")


def run(cmd, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def debs():
    found = {p: sorted(DEB_DIR.glob(f"{p}_*.deb")) for p in PACKAGES}
    for p, files in found.items():
        assert len(files) == 1, f"expected one {p} .deb in {DEB_DIR}, found {files}: run make deb"
    return {p: files[0] for p, files in found.items()}


def test_lintian_reports_no_errors():
    changes = sorted(DEB_DIR.glob("*.changes"))
    assert changes, f"no .changes in {DEB_DIR}: run make deb"
    r = subprocess.run(["lintian", "--tag-display-limit", "0", str(changes[0])],
                       capture_output=True, text=True, timeout=1200)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert not errors, "\n".join(errors)
    assert r.returncode == 0, r.stdout + r.stderr


def test_binaries_are_stripped_and_configs_are_conffiles(tmp_path):
    conffiles = {"ringmaster": "/etc/ringmaster/ringmaster.conf",
                 "ringagent": "/etc/ringmaster/agent.conf"}
    for pkg, deb in debs().items():
        root = tmp_path / pkg
        run(["dpkg-deb", "-R", str(deb), str(root)])
        sections = run(["readelf", "-S", str(root / "usr/bin" / pkg)]).stdout
        assert ".symtab" not in sections, f"{pkg}: binary is not stripped"
        if pkg in conffiles:
            assert conffiles[pkg] in (root / "DEBIAN/conffiles").read_text()
            assert (root / "lib/systemd/system" / f"{pkg}.service").exists()
            assert (root / "usr/lib/tmpfiles.d" / f"{pkg}.conf").exists()
            assert (root / "etc/logrotate.d" / pkg).exists()
    assert (tmp_path / "ringsh/usr/share/bash-completion/completions/ringsh").exists()


@contextlib.contextmanager
def fresh_root(tmp_path_factory):
    """A fresh Debian 12 minbase with /proc mounted, removed afterwards."""
    assert os.geteuid() == 0, "the chroot checks need root"
    base = CACHE / "base.tar"
    if not base.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        fresh = CACHE / "base"
        shutil.rmtree(fresh, ignore_errors=True)
        run(["debootstrap", "--variant=minbase", "bookworm", str(fresh), MIRROR], timeout=3600)
        run(["tar", "-C", str(fresh), "-cf", str(base) + ".part", "."])
        os.rename(str(base) + ".part", base)
        shutil.rmtree(fresh, ignore_errors=True)
    root = tmp_path_factory.mktemp("chroot") / "root"
    root.mkdir()
    run(["tar", "-C", str(root), "-xf", str(base)], timeout=1200)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    run(["mount", "-t", "proc", "proc", str(root / "proc")])
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def chroot(tmp_path_factory):
    with fresh_root(tmp_path_factory) as root:
        yield root


def inroot(root, *cmd, timeout=600, check=True):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LANG": "C.UTF-8"}
    r = subprocess.run(["chroot", str(root), *cmd], capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check:
        assert r.returncode == 0, f"{cmd} in the chroot failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def installed(chroot):
    dest = chroot / "tmp/debs"
    dest.mkdir()
    for deb in debs().values():
        shutil.copy(deb, dest)
    inroot(chroot, "apt-get", "update", "-qq")
    names = [f"./{d.name}" for d in debs().values()]
    # apt resolves ./file.deb relative to the working directory.
    inroot(chroot, "sh", "-c", "cd /tmp/debs && apt-get install -y -qq --no-install-recommends "
           + " ".join(names), timeout=1800)
    return chroot


def test_each_program_runs_and_checks_its_config(installed):
    for prog in PACKAGES:
        r = inroot(installed, prog, "--version")
        assert prog in r.stdout and "0." in r.stdout, r.stdout
    r = inroot(installed, "ringmaster", "-n", "-f", "/etc/ringmaster/ringmaster.conf")
    assert "configuration OK" in r.stdout + r.stderr
    # The sample agent.conf leaves 'address' to the operator, and says so.
    r = inroot(installed, "ringagent", "-n", "-f", "/etc/ringmaster/agent.conf", check=False)
    assert r.returncode != 0 and "address" in r.stderr, r.stderr
    conf = (installed / "etc/ringmaster/agent.conf").read_text() + "address = 10.0.1.11\n"
    (installed / "tmp/agent.conf").write_text(conf)
    inroot(installed, "ringagent", "-n", "-f", "/tmp/agent.conf")
    r = inroot(installed, "ringsh", "-c", "help")
    assert "clusters" in r.stdout


def test_users_directories_units_and_no_compiler(installed):
    r = inroot(installed, "getent", "passwd", "ringmaster")
    assert "/var/lib/ringmaster" in r.stdout
    st = (installed / "var/lib/ringmaster").stat()
    assert oct(st.st_mode & 0o777) == "0o700"
    key = installed / "etc/ringmaster/tls/key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o640"
    wants = installed / "etc/systemd/system/multi-user.target.wants"
    for unit in ("ringmaster.service", "ringagent.service"):
        assert (wants / unit).is_symlink(), f"{unit} is not enabled"
    for tool in ("gcc", "cc", "make"):
        r = inroot(installed, "sh", "-c", f"command -v {tool}", check=False)
        assert r.returncode != 0, f"{tool} is installed on a production host: {r.stdout}"
    r = inroot(installed, "dpkg-query", "-W", "-f", "${Package}\\n")
    assert not [p for p in r.stdout.split() if p.endswith("-dev")], r.stdout


def test_packaged_ringmaster_serves_https_with_its_certificate(installed):
    """Start the installed ringmaster as its user, on loopback, with the
    postinst's certificate, and reach /health over TLS trusting only it."""
    port = rmtest.free_port()
    conf = installed / "tmp/rm-https.conf"
    conf.write_text(f"listen = 127.0.0.1:{port}\n"
                    "tls_cert = /etc/ringmaster/tls/cert.pem\n"
                    "tls_key = /etc/ringmaster/tls/key.pem\n"
                    "data_dir = /var/lib/ringmaster\n")
    conf.chmod(0o644)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    proc = subprocess.Popen(["chroot", "--userspec=ringmaster:ringmaster", str(installed),
                             "ringmaster", "-d", "-f", "/tmp/rm-https.conf"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        ctx = ssl.create_default_context(cafile=str(installed / "etc/ringmaster/tls/cert.pem"))
        ctx.check_hostname = False  # the certificate names the chroot host's FQDN

        def health():
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/health",
                                            context=ctx, timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                assert proc.poll() is None, f"ringmaster exited:\n{proc.stdout.read()}"
                return False
        rmtest.wait_for(health, "ringmaster /health over TLS", timeout=60)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("role,packages,unit", [
    ("orchestrator", ("ringmaster", "ringsh"), "ringmaster.service"),
    ("node", ("ringagent",), "ringagent.service"),
])
def test_image_provisioning_script_in_a_fresh_root(tmp_path_factory, role, packages, unit):
    """packer/scripts/install.sh, as the images run it, on a fresh Debian 12.
    The node's Cassandra comes from Apache's repository, which this test
    cannot reach (CASSANDRA_SERIES=none)."""
    with fresh_root(tmp_path_factory) as root:
        dest = root / "tmp/ringmaster-debs"
        dest.mkdir()
        for deb in debs().values():
            shutil.copy(deb, dest)
        shutil.copy(rmtest.REPO / "packer/scripts/install.sh", root / "tmp/install.sh")
        inroot(root, "env", f"RINGMASTER_ROLE={role}", "CASSANDRA_SERIES=none",
               "sh", "/tmp/install.sh", timeout=1800)
        r = inroot(root, "dpkg-query", "-W", "-f", "${Package} ${Status}\n")
        installed = {line.split()[0] for line in r.stdout.splitlines() if "ok installed" in line}
        assert set(packages) <= installed, r.stdout
        assert not set(PACKAGES) - set(packages) & installed, "the other role's package came along"
        assert not [p for p in installed if p.endswith("-dev") or p in ("gcc", "make", "cpp")]
        assert (root / "etc/systemd/system/multi-user.target.wants" / unit).is_symlink()
        assert not dest.exists(), "the uploaded packages stay on the image"
        if role == "orchestrator":
            # The build host's certificate must not ship: the unit makes one
            # per instance at first boot.
            assert not (root / "etc/ringmaster/tls/key.pem").exists()
            unit_text = (root / "lib/systemd/system/ringmaster.service").read_text()
            assert "ExecStartPre=+/usr/lib/ringmaster/make-cert" in unit_text
            inroot(root, "/usr/lib/ringmaster/make-cert")
            assert (root / "etc/ringmaster/tls/key.pem").exists()
            inroot(root, "ringmaster", "-n", "-f", "/etc/ringmaster/ringmaster.conf")


def playbook(inv, args):
    """ansible-playbook site.yml, which must succeed."""
    r = subprocess.run(
        ["ansible-playbook", "-i", str(inv), str(rmtest.REPO / "ansible/site.yml"), *args],
        capture_output=True, text=True, timeout=1800,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "0"})
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    return r


def recap(stdout, host):
    """The PLAY RECAP counters of one host: {"ok": 12, "changed": 0, ...}."""
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == host and len(parts) > 2 and parts[1] == ":":
            return {k: int(v) for k, v in (p.split("=") for p in parts[2:])}
    raise AssertionError(f"no PLAY RECAP line for {host}:\n{stdout[-3000:]}")


def ansible_ready_root(root):
    """Python for Ansible's modules in a fresh root."""
    inroot(root, "apt-get", "update", "-qq")
    inroot(root, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
           "python3", "python3-apt", timeout=1800)


def test_ansible_node_role_with_limit_in_a_fresh_root(tmp_path_factory, tmp_path):
    """site.yml limited to one node (the orchestrator play does not run)
    installs the agent, its token, CA and configuration and the restricted
    key in a fresh Debian 12, reached through Ansible's chroot connection.
    Services are left alone (ringmaster_manage_services=false): there is no
    systemd in a chroot.  A second run of the same playbook changes
    nothing."""
    orch = tmp_path / "orch"
    (orch / "ssh").mkdir(parents=True)
    token = "rm_join_test_secret_4f1c9a"
    (orch / "join.token").write_text(token + "\n")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(orch / "ssh/id_ed25519")])
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=test CA", "-keyout", str(orch / "ca-key.pem"),
         "-out", str(orch / "ca.pem")])
    with fresh_root(tmp_path_factory) as root:
        ansible_ready_root(root)
        # The role adds its SSH user to Cassandra's group: Cassandra comes first.
        inroot(root, "groupadd", "--system", "cassandra")
        inv = tmp_path / "inventory.ini"
        inv.write_text(
            "[ringmaster]\norch1 ansible_connection=local\n"
            f"[cassandra]\nnode1 ansible_connection=community.general.chroot ansible_host={root}"
            " ringmaster_cluster=prod ringmaster_address=10.0.1.11\n"
            "[all:vars]\nansible_python_interpreter=/usr/bin/python3\n")
        args = ["--limit", "node1", "-e", "ringmaster_manage_services=false",
                "-e", "ansible_become=false", "-e", f"ringmaster_deb_dir={DEB_DIR}",
                "-e", f"ringmaster_orchestrator_data_dir={orch}",
                "-e", f"ringmaster_orchestrator_ssh_key={orch}/ssh/id_ed25519",
                "-e", f"ringmaster_orchestrator_ca={orch}/ca.pem"]
        r = playbook(inv, args)
        again = playbook(inv, args)
        assert recap(again.stdout, "node1")["changed"] == 0, \
            "the second run changed something:\n" + again.stdout[-6000:]
        out = r.stdout + r.stderr + again.stdout + again.stderr
        assert token not in out, "the join token was printed"
        tok = root / "etc/ringmaster/join.token"
        assert tok.read_text() == token + "\n" and oct(tok.stat().st_mode & 0o777) == "0o600"
        conf = (root / "etc/ringmaster/agent.conf").read_text()
        assert "orchestrator = https://orch1:7400" in conf and "cluster = prod" in conf
        assert "ca_file = /etc/ringmaster/ca.pem" in conf
        assert (root / "etc/ringmaster/ca.pem").read_text() == (orch / "ca.pem").read_text()
        r = inroot(root, "id", "-nG", "ringmaster")
        assert "cassandra" in r.stdout.split()
        home = inroot(root, "getent", "passwd", "ringmaster").stdout.split(":")[5]
        keys = (root / home.lstrip("/") / ".ssh/authorized_keys").read_text().splitlines()
        pub = (orch / "ssh/id_ed25519.pub").read_text().split()[1]
        assert len(keys) == 1 and pub in keys[0], keys
        assert keys[0].startswith('restrict,command="/usr/local/lib/ringmaster/ringagent-ssh" ')
        assert os.access(root / "usr/local/lib/ringmaster/ringagent-ssh", os.X_OK)
        inroot(root, "ringagent", "-n", "-f", "/etc/ringmaster/agent.conf")
        r = inroot(root, "sh", "-c", "command -v gcc cc make", check=False)
        assert r.stdout == "", r.stdout


def test_ansible_orchestrator_role_in_a_fresh_root(tmp_path_factory, tmp_path):
    """site.yml limited to the orchestrator, in a fresh Debian 12 through the
    chroot connection (services left alone): packages, TLS configuration,
    the CA and the certificate it signs with their modes, the SSH key and
    both tokens, which never appear in the output; a second run changes
    nothing."""
    with fresh_root(tmp_path_factory) as root:
        ansible_ready_root(root)
        inv = tmp_path / "inventory.ini"
        inv.write_text(
            f"[ringmaster]\norch1 ansible_connection=community.general.chroot ansible_host={root}\n"
            "[cassandra]\n"
            "[all:vars]\nansible_python_interpreter=/usr/bin/python3\n")
        args = ["--limit", "orch1", "-e", "ringmaster_manage_services=false",
                "-e", "ansible_become=false", "-e", f"ringmaster_deb_dir={DEB_DIR}"]
        first = playbook(inv, args)
        again = playbook(inv, args)
        assert recap(again.stdout, "orch1")["changed"] == 0, \
            "the second run changed something:\n" + again.stdout[-6000:]
        out = first.stdout + first.stderr + again.stdout + again.stderr

        r = inroot(root, "dpkg-query", "-W", "-f", "${Package} ${Status}\n")
        installed = {line.split()[0] for line in r.stdout.splitlines() if "ok installed" in line}
        assert {"ringmaster", "ringsh"} <= installed and "ringagent" not in installed, r.stdout

        conf = (root / "etc/ringmaster/ringmaster.conf").read_text()
        assert "tls_cert = /etc/ringmaster/tls/server.pem" in conf, conf
        assert "tls_key = /etc/ringmaster/tls/server-key.pem" in conf, conf
        r = inroot(root, "ringmaster", "-n", "-f", "/etc/ringmaster/ringmaster.conf")
        assert "configuration OK" in r.stdout + r.stderr

        tls = root / "etc/ringmaster/tls"
        uid = {n: int(inroot(root, "id", "-u", n).stdout) for n in ("root", "ringmaster")}
        gid = {n: int(inroot(root, "getent", "group", n).stdout.split(":")[2])
               for n in ("root", "ringmaster")}

        def owned(path, user, group, mode):
            st = path.stat()
            assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o777)) == \
                (uid[user], gid[group], oct(mode)), f"{path}: {st}"
        owned(tls / "ca.pem", "root", "root", 0o644)
        owned(tls / "ca-key.pem", "root", "root", 0o600)
        owned(tls / "server.pem", "root", "root", 0o644)
        owned(tls / "server-key.pem", "root", "ringmaster", 0o640)
        # The certificate is the CA's, for the orchestrator's inventory name.
        inroot(root, "openssl", "verify", "-CAfile", "/etc/ringmaster/tls/ca.pem",
               "/etc/ringmaster/tls/server.pem")
        r = inroot(root, "openssl", "x509", "-noout", "-ext", "subjectAltName",
                   "-in", "/etc/ringmaster/tls/server.pem")
        assert "DNS:orch1" in r.stdout, r.stdout

        ssh = root / "var/lib/ringmaster/ssh"
        owned(ssh, "ringmaster", "ringmaster", 0o700)
        owned(ssh / "id_ed25519", "ringmaster", "ringmaster", 0o600)
        assert (ssh / "id_ed25519.pub").read_text().startswith("ssh-ed25519 ")

        data = root / "var/lib/ringmaster"
        for name in ("join.token", "admin.token"):
            owned(data / name, "ringmaster", "ringmaster", 0o600)
            tok = (data / name).read_text().strip()
            assert tok.startswith("rm_") and len(tok) > 16, name
            assert tok not in out, f"the {name} was printed"
        # ringmaster owns its store, and knows the admin token it was given.
        for f in data.iterdir():
            assert f.stat().st_uid == uid["ringmaster"], f"{f} is not ringmaster's"
        r = inroot(root, "runuser", "-u", "ringmaster", "--", "ringmaster", "-f",
                   "/etc/ringmaster/ringmaster.conf", "token", "list")
        assert "admin" in r.stdout, r.stdout
