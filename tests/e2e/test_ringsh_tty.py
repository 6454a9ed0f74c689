"""ringsh on a terminal, driven through tmux (send-keys, capture-pane) with
the real orchestrator: Tab completion of commands and live cluster names,
Ctrl-R reverse search, history that survives a restart, the prompt, and
`watch` drawing its progress in place and leaving on Ctrl-C."""
import os
import re
import shutil
import subprocess
import uuid

import pytest

from orch import orch, orch_factory, wait_until  # noqa: F401
from test_ringsh_common import clean_env, ringsh_path

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


class Term:
    """One ringsh in a private tmux server (its own socket)."""

    def __init__(self, env):
        self.sock = f"ringsh-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.started = 0

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True,
                              text=True, check=check, timeout=10)

    def start(self, *ringsh_args):
        """Start ringsh in a fresh window (a new session the first time)."""
        cmd = " ".join(["exec", str(ringsh_path()), *ringsh_args])
        env_args = []
        for k in ("HOME", "RINGSH_CONFIG", "RINGSH_HISTORY", "RINGMASTER_URL",
                  "RINGMASTER_TOKEN", "PATH"):
            if k in self.env:
                env_args += ["-e", f"{k}={self.env[k]}"]
        name = f"w{self.started}"
        if self.started == 0:
            self.tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "rs",
                      "-n", name, *env_args, cmd)
            self.tmux("set-option", "-t", "rs", "remain-on-exit", "on")
        else:
            self.tmux("new-window", "-t", "rs", "-n", name, *env_args, cmd)
        self.win = f"rs:{name}"
        self.started += 1
        self.wait(lambda s: "ringsh " in s and s.rstrip().endswith(">"), "the prompt")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.win, *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", self.win, "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-J", "-t", self.win, "-S", "-200").stdout

    def wait(self, pred, what, timeout=15):
        def check():
            s = self.screen()
            return s if pred(s) else None
        try:
            return wait_until(check, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- screen ---\n{self.screen()}") from None

    def wait_text(self, text, timeout=15):
        return self.wait(lambda s: text in s, repr(text), timeout)

    def dead(self):
        out = self.tmux("display-message", "-p", "-t", self.win, "#{pane_dead}").stdout
        return out.strip() == "1"

    def close(self):
        self.tmux("kill-server", check=False)


@pytest.fixture
def term_factory():
    made = []

    def make(env):
        t = Term(env)
        made.append(t)
        return t
    yield make
    for t in made:
        t.close()


def env_of(o, tmp_path):
    return clean_env(tmp_path / "home", url=o.base, token=o.admin_token,
                     RINGSH_HISTORY=tmp_path / "state" / "ringmaster" / "ringsh_history")


def test_tab_completes_commands_and_cluster_names(orch, tmp_path, term_factory):
    orch.create_cluster("production-eu")
    orch.create_cluster("staging")
    t = term_factory(env_of(orch, tmp_path))
    t.start()
    assert t.screen().rstrip().endswith("ringsh default>")
    # A command and its subcommand by Tab.
    t.type("tas")
    t.keys("Tab")
    t.wait_text("ringsh default> tasks ")
    t.type("li")
    t.keys("Tab")
    t.wait_text("ringsh default> tasks list ")
    t.keys("C-u")
    # A live cluster name fetched from the orchestrator.
    t.type("clusters show pro")
    t.keys("Tab")
    t.wait_text("ringsh default> clusters show production-eu ")
    t.keys("Enter")
    t.wait(lambda s: re.search(r"^name +production-eu$", s, re.M), "clusters show output")
    # Several candidates: the common part first, then the list.
    t.type("con")
    t.keys("Tab")
    t.wait_text("ringsh default> connect")
    t.keys("Tab")
    t.wait(lambda s: re.search(r"^connect +connections", s, re.M), "the candidates")
    t.keys("C-u")
    # use + Tab offers connections and clusters; the prompt follows.
    t.type("use st")
    t.keys("Tab")
    t.wait_text("use staging ")
    t.keys("Enter")
    t.wait_text("ringsh default/staging>")


def test_ctrl_r_and_history_surviving_a_restart(orch, tmp_path, term_factory):
    orch.create_cluster("prod")
    env = env_of(orch, tmp_path)
    hist = tmp_path / "state" / "ringmaster" / "ringsh_history"
    t = term_factory(env)
    t.start("-C", "prod")
    t.type("health")
    t.keys("Enter")
    t.wait_text("ok  ringmaster")
    t.type("tasks list")
    t.keys("Enter")
    t.wait_text("no tasks yet")
    # Ctrl-R finds the earlier command; Enter runs it again.
    t.keys("C-r")
    t.type("heal")
    # libedit shows the match on the prompt line and the pattern below it.
    t.wait(lambda s: re.search(r"> health\nbck:heal\s*$", s), "the search hit")
    t.keys("Enter")
    t.wait(lambda s: s.count("ok  ringmaster") == 2, "health run a second time")
    t.type("quit")
    t.keys("Enter")
    wait_until(t.dead, 10, "ringsh to exit on quit")
    # Saved in the XDG-style state file (created with its directories), private.
    text = hist.read_text()
    assert "health" in text and "tasks\\040list" in text or "tasks list" in text
    assert (os.stat(hist).st_mode & 0o077) == 0
    # A new ringsh has the history: Up brings back the last command.
    t.start("-C", "prod")
    t.keys("Up")
    t.wait(lambda s: s.rstrip().splitlines()[-1].endswith("> quit"), "the last command")
    t.keys("Up")
    t.wait(lambda s: s.rstrip().splitlines()[-1].endswith("> health"), "the one before")
    t.keys("C-u")
    t.keys("C-r")
    t.type("tasks")
    t.wait(lambda s: re.search(r"> tasks list\nbck:tasks\s*$", s), "the search hit")
    t.keys("Enter")
    t.wait(lambda s: s.count("no tasks yet") == 1 and "tasks list" in s, "search across restart")


def test_watch_draws_progress_in_place(orch, tmp_path, term_factory):
    orch.create_cluster("prod")
    t = term_factory(env_of(orch, tmp_path))
    t.start("-C", "prod")
    t.type("run noop steps=4 duration_s=3 --watch")
    t.keys("Enter")
    # Partial progress is drawn: a bar with some cells done, rate and ETA.
    t.wait(lambda s: re.search(r"\[#+-+\] [1-3]/4 +\d+%  [\d.]+/s  ETA \S+", s),
           "a partly filled progress bar")
    s = t.wait_text("succeeded after")
    # Redrawn in place: one header and one bar, not one per poll.
    assert len(re.findall(r"^task t-\S+  noop on prod", s, re.M)) == 1, s
    assert len(re.findall(r"^\[[#-]+\]", s, re.M)) == 1, s
    assert re.search(r"^\[#{30}\] 4/4 100%", s, re.M), s
    assert re.search(r"^  -     noop-4  succeeded", s, re.M), s
    t.wait(lambda x: x.rstrip().endswith("ringsh default/prod>"), "the prompt again")


def test_ctrl_c_leaves_the_watch_not_the_shell(orch, tmp_path, term_factory):
    orch.create_cluster("prod")
    tid = orch.submit("prod", duration_s=60, steps=10)["id"]
    t = term_factory(env_of(orch, tmp_path))
    t.start("-C", "prod")
    t.type(f"watch {tid}")
    t.keys("Enter")
    t.wait_text(f"task {tid}  noop on prod  running")
    t.keys("C-c")
    t.wait_text(f"left the watch; task {tid} goes on")
    assert not t.dead()
    assert orch.task(tid)["state"] == "running"
    # Ctrl-C at the prompt drops the line, keeps the shell.
    t.type("some half-typed line")
    t.keys("C-c")
    t.type("health")
    t.keys("Enter")
    t.wait_text("ok  ringmaster")
    assert not t.dead()
    orch.ok("POST", f"/api/v1/tasks/{tid}/cancel")
