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
"""Loading a function's zip package into a worker's directory."""

import compileall
import os
import zipfile


class BadPackage(Exception):
    """The package cannot be unzipped; the message says why."""


def unzip(zip_path, dest):
    """Unzip ``zip_path`` into the new directory ``dest``, with bytecode.

    No member may escape ``dest`` (absolute names, ``..``). Files are made
    world-readable (and executable if the zip says so) and directories
    world-searchable, whatever the service's umask: the worker's own
    directory is what keeps other users out, and a sandbox started as
    another user must read them.

    :param zip_path: the package file.
    :param dest: the directory to create and fill.
    :raises BadPackage: the file is missing, not a zip, or unsafe.
    :raises OSError: the files cannot be written.
    """
    root = os.path.realpath(dest)
    try:
        archive = zipfile.ZipFile(zip_path)
    except FileNotFoundError:
        raise BadPackage("the package file is missing")
    except (zipfile.BadZipFile, OSError) as e:
        raise BadPackage(f"the package is not a valid zip file ({e})")
    with archive:
        for member in archive.infolist():
            target = os.path.realpath(os.path.join(root, member.filename))
            if os.path.commonpath([root, target]) != root:
                raise BadPackage(f"the package member {member.filename!r} "
                                 "is outside the package")
        os.makedirs(root, exist_ok=True)
        try:
            archive.extractall(root)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as e:
            raise BadPackage(f"the package is not a valid zip file ({e})")
        _fix_modes(root, archive.infolist())
    compile_modules(root)


def compile_modules(root):
    """Write the bytecode of a package's Python modules beside them.

    Workers see the package read-only, so without it every execution would
    compile from source each module it imports. The bytecode is for the
    service's interpreter, the python3 runtime's by default (another
    ``[local]python_interpreter`` ignores it). A module that does not
    compile is left as it is: its execution reports the error.
    """
    compileall.compile_dir(root, quiet=2, workers=1)
    for dirpath, _, filenames in os.walk(root):
        if os.path.basename(dirpath) == "__pycache__":
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)


def _fix_modes(root, members):
    os.chmod(root, 0o755)
    for member in members:
        path = os.path.join(root, member.filename)
        if member.is_dir():
            os.chmod(path, 0o755)
        else:
            executable = (member.external_attr >> 16) & 0o111
            os.chmod(path, 0o755 if executable else 0o644)
            parent = os.path.dirname(path)
            while parent != root and parent.startswith(root):
                os.chmod(parent, 0o755)
                parent = os.path.dirname(parent)
