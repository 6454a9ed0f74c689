"""make install honours PREFIX and DESTDIR and installs the programs, their
manuals and the systemd units with the prefix substituted."""
import subprocess

import rmtest


def test_make_install_into_destdir(tmp_path):
    dest = tmp_path / "root"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/opt/rm"],
                       cwd=rmtest.REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    root = dest / "opt" / "rm"
    for prog in ("ringmaster", "ringagent", "ringsh"):
        p = root / "bin" / prog
        assert p.exists() and p.stat().st_mode & 0o111, p
        v = subprocess.run([str(p), "-v"], capture_output=True, text=True, timeout=10)
        assert v.returncode == 0 and prog in v.stdout
    assert (root / "share/man/man8/ringmaster.8").exists()
    assert (root / "share/man/man8/ringagent.8").exists()
    assert (root / "share/man/man1/ringsh.1").exists()
    for unit in ("ringmaster.service", "ringagent.service"):
        text = (root / "lib/systemd/system" / unit).read_text()
        assert "/opt/rm/bin/" in text and "@PREFIX@" not in text, text
    # Nothing escaped DESTDIR.
    assert not (tmp_path / "opt").exists()
