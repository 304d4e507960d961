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
"""Which bundled runtime server runs a runtime's image, and with what."""

import os
import shutil
import sys

from qinling import exceptions

#: qinling/runtimes/, where the bundled runtime servers live.
RUNTIMES_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "runtimes")

#: runtime kind -> its server's files, relative to RUNTIMES_DIR; the
#: server script first.
SERVERS = {
    "python3": (os.path.join("python3", "server.py"),
                os.path.join("python3", "runtime_child.py"),
                os.path.join("python3", "runtime_execution.py"),
                os.path.join("python3", "runtime_limits.py")),
    "nodejs": (os.path.join("nodejs", "server.js"),
               os.path.join("nodejs", "runner.js"),
               os.path.join("nodejs", "runners.js"),
               os.path.join("nodejs", "slots.js")),
}


def strip_tag(image):
    """Return the image name without its tag or digest.

    ``host:5000/repo:tag`` becomes ``host:5000/repo``: a colon in the
    registry part is a port, not a tag.
    """
    name = image.split("@", 1)[0]
    registry, slash, last = name.rpartition("/")
    return registry + slash + last.split(":", 1)[0]


def runtime_kind(image, runtime_images):
    """Return the bundled runtime kind that runs ``image``.

    :param image: the runtime's image, with or without a tag.
    :param runtime_images: the [local]runtime_images mapping.
    :returns: a runtime kind, for example ``python3``.
    :raises OrchestratorException: the image is not supported.
    """
    kind = runtime_images.get(strip_tag(image or ""))
    if not kind:
        supported = ", ".join(sorted(runtime_images))
        raise exceptions.OrchestratorException(
            f'Image "{image}" is not supported by the local orchestrator; '
            f"supported images: {supported}.")
    return kind


def server_files(image, kind):
    """Return the paths of the runtime server of ``kind``, script first.

    :param image: the runtime's image, for the error message.
    :param kind: a runtime kind from :func:`runtime_kind`.
    :raises OrchestratorException: no such runtime server is bundled.
    """
    files = [os.path.join(RUNTIMES_DIR, f) for f in SERVERS.get(kind, ())]
    if not files or not all(os.path.isfile(f) for f in files):
        raise exceptions.OrchestratorException(
            f'Image "{image}" is not supported by the local orchestrator: its '
            f'runtime "{kind}" is not installed.')
    return tuple(files)


def interpreter(kind, local_conf):
    """Return the absolute path of the interpreter that runs ``kind``.

    :param local_conf: the ``[local]`` options.
    :raises OrchestratorException: the interpreter cannot be found.
    """
    if kind == "python3":
        configured = local_conf.python_interpreter
        # The service's own interpreter, with its virtualenv: functions
        # get keystoneauth1 and the OpenStack clients installed there.
        default = sys.executable
    else:
        configured, default = local_conf.nodejs_interpreter, "node"
    name = configured or default
    found = name if os.path.isabs(name) else shutil.which(name)
    if not found or not os.access(found, os.X_OK):
        raise exceptions.OrchestratorException(
            f'The "{kind}" runtime needs {name}, which is not installed on '
            "the engine's host.")
    # Not resolved: a virtualenv's interpreter is a link, and resolving it
    # would lose the virtualenv's packages.
    return os.path.abspath(found)
