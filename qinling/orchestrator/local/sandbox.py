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
"""How a worker process is started: the one place that builds its argv/env.

For now a worker runs without isolation, as the service's user. A later
change wraps the command in bubblewrap (user, pid, mount, ipc, uts and net
namespaces, read-only system, private /tmp); only this module changes then.
"""

import dataclasses
import sys

from qinling.orchestrator.local import process

#: runtime kind -> the interpreter that runs its server.
INTERPRETERS = {
    "python3": (sys.executable,),
}


@dataclasses.dataclass(frozen=True)
class Command:
    """What to execute to start a worker."""

    argv: tuple[str, ...]
    env: dict[str, str]


def worker_command(kind, worker_dir, server_path):
    """Build the command that starts a worker.

    The environment is minimal and never the service's own: the service's
    configuration, credentials and variables must not reach user code.

    :param kind: the runtime kind, for example ``python3``.
    :param worker_dir: the worker's private directory.
    :param server_path: the runtime server to run.
    :returns: a :class:`Command`.
    :raises ValueError: no interpreter is known for ``kind``.
    """
    if kind not in INTERPRETERS:
        raise ValueError(f"No interpreter for runtime kind {kind}")
    paths = process.paths(worker_dir)
    argv = INTERPRETERS[kind] + (
        server_path, "--socket", paths.socket, "--packages", paths.packages)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": paths.root,
        "TMPDIR": paths.tmp,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return Command(argv=argv, env=env)
