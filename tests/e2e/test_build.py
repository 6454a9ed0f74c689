"""The three programs exist, report their version the same way and explain
themselves."""
import subprocess

import pytest


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version(bin_dir, prog, flag):
    v = subprocess.run([str(bin_dir / prog), flag], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0, v.stderr
    assert v.stdout.startswith(prog + " "), v.stdout


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
def test_help(bin_dir, prog):
    h = subprocess.run([str(bin_dir / prog), "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    assert "usage" in (h.stdout + h.stderr).lower()


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
def test_bad_option_is_a_usage_error(bin_dir, prog):
    r = subprocess.run([str(bin_dir / prog), "--no-such-option"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert "usage" in (r.stdout + r.stderr).lower()


# Process-wide state the libraries themselves need once per process:
# libssh2_init() (ssh.c) and SQLite's configuration (store.c).  Everything
# else in the orchestrator lives in handles created by main().
LIBRARY_ONCE = {"init_once", "init_rc", "once"}


def test_orchestrator_has_no_mutable_globals():
    """The engine, scheduler, node client, metrics and routes are handles:
    no object of the orchestrator keeps writable static data (.data or .bss)
    but the libraries' once-per-process initialisation."""
    import os
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    build = Path(os.environ.get("UNIT_DIR", repo / "build/release/tests/unit")).parents[1]
    # objects of the sources there are now (a build dir may hold old ones)
    objs = sorted(o for o in (build / "orchestrator").rglob("*.o")
                  if (repo / o.relative_to(build)).with_suffix(".c").exists())
    assert len(objs) >= 15, f"no orchestrator objects under {build}"
    found = []
    for o in objs:
        out = subprocess.run(["objdump", "-t", str(o)], capture_output=True,
                             text=True, timeout=30, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            # "<addr> l O .bss <size> <name>": data objects only
            if len(f) >= 6 and f[2] == "O" and (f[3] == ".bss" or f[3] == ".data"
                                                or f[3].startswith((".bss.", ".data."))) \
                    and not f[3].startswith(".data.rel.ro"):
                name = f[-1].split(".")[0]
                if name not in LIBRARY_ONCE:
                    found.append(f"{o.relative_to(build)}: {f[-1]} in {f[3]}")
    assert not found, "mutable global state:\n" + "\n".join(found)
