# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The command a worker is started with, and when it may run at all."""

import errno
import json
import os
import subprocess

import pytest

from qinling.orchestrator.local import process
from qinling.orchestrator.local import sandbox
from qinling.orchestrator.local import seccomp

# A host with a merged /usr: /bin, /lib... are links into /usr.
LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib",
         "/lib64": "usr/lib64"}
HOST = (lambda p: p in LINKS or p == "/usr", lambda p: p in LINKS,
        LINKS.__getitem__)
COMMAND = ("/usr/bin/python3", "/opt/qinling/runtime/server.py")


def argv(network="none", **kwargs):
    return sandbox.bwrap_argv("bwrap", COMMAND, network, 1 << 20,
                              packages="/state/workers/w1/packages",
                              host=HOST, **kwargs)


def options_of(args, name):
    """The values following each occurrence of ``name``."""
    return [args[i + 1] for i, a in enumerate(args) if a == name]


def test_the_worker_gets_every_namespace_and_no_privilege():
    args = argv()
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-ipc",
                 "--unshare-uts", "--unshare-cgroup-try", "--unshare-net",
                 "--disable-userns", "--die-with-parent", "--new-session"):
        assert flag in args
    assert options_of(args, "--cap-drop") == ["ALL"]
    assert options_of(args, "--uid") == [str(sandbox.SANDBOX_UID)]


def test_host_network_keeps_the_network_namespace_of_the_host():
    assert "--unshare-net" not in argv(network="host")


def test_the_command_runs_last_after_the_options():
    args = argv()
    assert args[-len(COMMAND) - 1:] == ("--",) + COMMAND


def test_the_system_is_read_only_and_links_are_recreated():
    args = argv()
    assert "/usr" in options_of(args, "--ro-bind")
    assert "usr/bin" in options_of(args, "--symlink")
    assert args[args.index("--remount-ro") + 1] == "/"


def test_only_chosen_etc_files_are_visible_never_all_of_etc():
    sources = options_of(argv(), "--ro-bind") + options_of(
        argv(), "--ro-bind-try")
    assert "/etc" not in sources
    assert "/etc/ld.so.cache" in sources
    assert not any(s.startswith("/etc/qinling") or s == "/etc/shadow"
                   for s in sources)


def test_the_package_is_read_only_and_tmp_private_and_bounded():
    args = list(argv())
    i = args.index("/state/workers/w1/packages")
    assert args[i - 1:i + 2] == ["--ro-bind", "/state/workers/w1/packages",
                                 sandbox.PACKAGES_DIR]
    j = args.index("--tmpfs")
    assert args[j - 2:j + 2] == ["--size", str(1 << 20), "--tmpfs", "/tmp"]


def test_proc_sys_is_read_only_and_nothing_of_the_service_is_bound():
    args = list(argv(extra_ro=("/opt/py",), data_files=((7, "/etc/passwd"),)))
    k = args.index("/proc/sys")
    assert args[k - 1:k + 2] == ["--ro-bind", "/proc/sys", "/proc/sys"]
    bound = options_of(args, "--ro-bind") + options_of(args, "--bind")
    assert not any(b.startswith("/state") and "packages" not in b
                   for b in bound)
    assert "/opt/py" in bound
    assert options_of(args, "--ro-bind-data") == ["7"]


def test_server_argv_passes_the_socket_cgroups_and_limits():
    limits = sandbox.Limits(max_open_files=1024, max_file_size=2048,
                            max_processes=64, rlimit_memory=True)
    args = sandbox.server_argv("/usr/bin/python3", "/srv/server.py", 5,
                               "/pk", '{"slots": []}', limits)
    assert args[:2] == ("/usr/bin/python3", "/srv/server.py")
    assert options_of(args, "--socket-fd") == ["5"]
    assert options_of(args, "--packages") == ["/pk"]
    assert options_of(args, "--cgroups") == ['{"slots": []}']
    assert options_of(args, "--max-open-files") == ["1024"]
    assert options_of(args, "--max-file-size") == ["2048"]
    assert options_of(args, "--max-processes") == ["64"]
    assert "--rlimit-memory" in args


def test_server_argv_ends_with_the_runtimes_own_arguments():
    limits = sandbox.Limits(max_open_files=1024, max_file_size=2048)
    args = sandbox.server_argv("python3", "/srv/server.py", 3, "/pk", "",
                               limits, init=True,
                               extra=("--no-spare-child",))
    assert args[-2:] == ("--init", "--no-spare-child")


def test_server_argv_without_cgroups_has_no_cgroups_option():
    limits = sandbox.Limits(max_open_files=1024, max_file_size=2048)
    args = sandbox.server_argv("node", "/srv/server.js", 3, "/pk", "",
                               limits)
    assert "--cgroups" not in args and "--rlimit-memory" not in args


@pytest.mark.parametrize("path,expected", [
    ("/usr/bin/python3.11", ()),
    ("/opt/python/3.11/bin/python3", ("/opt/python/3.11",)),
])
def test_an_interpreter_outside_usr_gets_its_prefix_bound(path, expected):
    assert sandbox.interpreter_prefixes(path) == expected


def test_a_virtualenv_interpreter_gets_both_prefixes_bound(tmp_path):
    base = tmp_path / "base" / "bin"
    venv = tmp_path / "venv" / "bin"
    base.mkdir(parents=True)
    venv.mkdir(parents=True)
    (base / "python3").write_text("")
    (venv / "python3").symlink_to(base / "python3")

    assert sandbox.interpreter_prefixes(str(venv / "python3")) == (
        str(tmp_path / "venv"), str(tmp_path / "base"))


POLICY_TABLE = [
    # (mode, reason the host cannot sandbox, trusted, notice or error)
    ("auto", None, True, None),
    ("auto", None, False, None),
    ("on", None, False, None),
    ("auto", "no bwrap", True, "Workers run without a sandbox: no bwrap."),
    ("auto", "no bwrap", False, ValueError(
        "Untrusted runtimes need a sandbox and this host cannot sandbox "
        "workers: no bwrap. An operator may set [local]sandbox = off to run "
        "them anyway.")),
    ("on", "no bwrap", True, ValueError(
        "This host cannot sandbox workers and [local]sandbox is on: no "
        "bwrap.")),
    ("off", None, False,
     "Workers run without a sandbox ([local]sandbox = off)."),
]


@pytest.mark.parametrize("mode,reason,trusted,expected", POLICY_TABLE)
def test_policy_refuses_untrusted_runtimes_without_a_sandbox(
        mode, reason, trusted, expected):
    if isinstance(expected, Exception):
        with pytest.raises(ValueError) as caught:
            sandbox.policy(mode, reason, trusted)
        assert str(caught.value) == str(expected)
    else:
        assert sandbox.policy(mode, reason, trusted) == expected


def test_an_unsandboxed_worker_gets_a_minimal_environment(conf,
                                                          monkeypatch):
    monkeypatch.setenv("QINLING_DB_PASSWORD", "secret")
    conf.set_override("sandbox", "off", group="local")
    box = sandbox.Sandbox(conf)
    paths = process.paths("/w/rt-1")
    limits = sandbox.Limits(max_open_files=1024, max_file_size=2048)
    launch, fds = box.launch("/usr/bin/python3", ("/srv/server.py",), paths,
                             9, "", [], limits)
    assert fds == []
    assert launch.env == {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/w/rt-1",
        "TMPDIR": "/w/rt-1/tmp"}
    assert launch.argv[:2] == ("/usr/bin/python3", "/srv/server.py")
    assert launch.pass_fds == (9,)


def test_the_sandbox_probe_names_a_missing_bwrap(conf):
    conf.set_override("bwrap_path", "/nonexistent/bwrap", group="local")
    box = sandbox.Sandbox(conf)
    assert not box.enabled
    assert box.reason.startswith("/nonexistent/bwrap cannot run")


needs_bwrap = pytest.mark.skipif(sandbox.find_bwrap() is None,
                                 reason="bubblewrap is not installed")


@needs_bwrap
def test_a_sandboxed_command_sees_no_host_environment_or_files(
        conf, monkeypatch, tmp_path):
    monkeypatch.setenv("QINLING_DB_PASSWORD", "secret")
    box = sandbox.Sandbox(conf)
    assert box.enabled, box.reason
    paths = process.paths(os.path.join(conf.local.work_dir, "w1"))
    process.make_dirs(paths, shared=box.user is not None)
    script = tmp_path / "server.py"
    script.write_text(
        "import json, os\n"
        "print(json.dumps([sorted(os.environ), os.getuid(), os.path.exists("
        f"{str(tmp_path)!r}), os.listdir('/var/qinling/packages')]))\n")
    limits = sandbox.Limits(max_open_files=1024, max_file_size=2048)
    launch, fds = box.launch("/usr/bin/python3", (str(script),), paths,
                             -1, "", [], limits)
    try:
        # The interpreter and the script, after the last "--" (setpriv's
        # when the service is root).
        end = len(launch.argv) - launch.argv[::-1].index("--") + 2
        done = subprocess.run(launch.argv[:end],
                              env=launch.env, pass_fds=fds,
                              capture_output=True, text=True, timeout=30)
    finally:
        for fd in fds:
            os.close(fd)
    assert done.returncode == 0, done.stderr
    env, uid, sees_host_dir, packages = json.loads(done.stdout)
    assert "QINLING_DB_PASSWORD" not in env
    assert set(env) <= {"HOME", "LANG", "LC_CTYPE", "PATH", "PWD", "TMPDIR",
                        "PYTHONDONTWRITEBYTECODE"}
    expected_uid = sandbox.SANDBOX_UID if box.user is None else box.user
    assert (uid, sees_host_dir, packages) == (expected_uid, False, [])
    assert uid != 0


def test_an_interpreter_under_tmp_is_bound_after_the_private_tmp():
    argv = sandbox.bwrap_argv("bwrap", ["python3"], "none", 1024,
                              extra_ro=("/tmp/checkout/.venv",))

    tmpfs = argv.index("--tmpfs")
    bind = argv.index("/tmp/checkout/.venv")
    assert argv[tmpfs + 1] == "/tmp" and bind > tmpfs
    assert argv[bind - 1] == "--ro-bind"


RUN_AS = ("/usr/bin/setpriv", 65534, 65534)


def test_as_root_no_user_namespace_maps_a_sandbox_user_to_root():
    args = argv(run_as=RUN_AS, extra_ro=("/opt/py",),
                data_files=((7, "/opt/qinling/runtime/server.py"),))
    assert "--unshare-user" not in args and "--uid" not in args
    assert options_of(args, "--cap-drop") == ["ALL"]
    assert options_of(args, "--cap-add") == ["CAP_SETUID", "CAP_SETGID"]
    command = args[len(args) - args[::-1].index("--"):]
    assert command == COMMAND
    setpriv = args[args.index("/usr/bin/setpriv"):]
    assert setpriv[:9] == ("/usr/bin/setpriv", "--reuid", "65534",
                           "--regid", "65534", "--clear-groups",
                           "--no-new-privs", "--inh-caps=-all", "--")


def test_as_root_the_worker_user_can_reach_what_is_bound_for_it():
    args = argv(run_as=RUN_AS, extra_ro=("/root/.pyenv/versions/3.11",),
                data_files=((7, "/opt/qinling/runtime/server.py"),))
    dirs = [args[i + 1] for i, a in enumerate(args) if a == "--dir"]
    assert dirs == ["/etc", "/root", "/root/.pyenv", "/root/.pyenv/versions",
                    "/var", "/var/qinling", "/opt", "/opt/qinling",
                    "/opt/qinling/runtime"]
    tmp = args.index("--tmpfs")
    assert args[tmp - 4:tmp] == ("--perms", "1777", "--size", str(1 << 20))
    data = args.index("--ro-bind-data")
    assert args[data - 2:data] == ("--perms", "0444")


def test_the_sandbox_passwd_names_the_worker_user():
    passwd, group = sandbox.passwd_text(65534, 65534)
    assert [line.split(":")[0] for line in passwd.splitlines()] == [
        "root", "nobody"]
    passwd, group = sandbox.passwd_text()
    assert "qinling:x:1000:1000:" in passwd


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("user, expected", [("", 65534), ("nobody", 65534)])
def test_a_root_service_runs_workers_as_an_unprivileged_user(user, expected):
    assert sandbox._worker_ids(user) == (expected, expected)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_a_root_service_refuses_root_as_the_worker_user():
    with pytest.raises(ValueError) as raised:
        sandbox._worker_ids("root")
    assert str(raised.value) == ("[local]worker_user root is root: "
                                 "sandboxed workers never run as root.")


def test_the_seccomp_filter_is_known_only_for_known_machines():
    assert len(seccomp.no_user_namespaces("x86_64")) % 8 == 0
    assert len(seccomp.no_user_namespaces("aarch64")) % 8 == 0
    assert seccomp.no_user_namespaces("sparc64") is None


@needs_bwrap
def test_a_sandboxed_function_cannot_create_a_user_namespace(conf,
                                                             tmp_path):
    box = sandbox.Sandbox(conf)
    assert box.enabled, box.reason
    paths = process.paths(os.path.join(conf.local.work_dir, "w2"))
    process.make_dirs(paths, shared=box.user is not None)
    script = tmp_path / "server.py"
    script.write_text(
        "import ctypes, os, threading\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "done = libc.unshare(0x10000000)\n"
        "thread = threading.Thread(target=lambda: None)\n"
        "thread.start(); thread.join()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(7)\n"
        "print(done, ctypes.get_errno() if done else 0,"
        " os.waitpid(pid, 0)[1] >> 8)\n")
    limits = sandbox.Limits(max_open_files=1024, max_file_size=2048)
    launch, fds = box.launch("/usr/bin/python3", (str(script),), paths,
                             -1, "", [], limits)
    try:
        end = len(launch.argv) - launch.argv[::-1].index("--") + 2
        done = subprocess.run(launch.argv[:end], env=launch.env,
                              pass_fds=fds, capture_output=True, text=True,
                              timeout=30)
    finally:
        for fd in fds:
            os.close(fd)
    assert done.returncode == 0, done.stderr
    # Refused (by --disable-userns, or by the seccomp filter of a root
    # service); threads and fork still work.
    result, error, child_status = done.stdout.split()
    assert result == "-1" and child_status == "7"
    assert int(error) in (errno.EPERM, errno.ENOSPC)
