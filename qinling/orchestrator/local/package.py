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
import shutil
import zipfile

#: Bytes copied at a time while unpacking.
CHUNK = 64 * 1024


class BadPackage(Exception):
    """The package cannot be unzipped; the message says why."""


def unzip(zip_path, dest, max_size, max_members):
    """Unzip ``zip_path`` into the new directory ``dest``, with bytecode.

    No member may escape ``dest`` (absolute names, ``..``), the package may
    hold at most ``max_members`` members and unpack to at most
    ``max_size`` bytes: the sizes its central directory declares are
    checked first, and the bytes written are counted while unpacking,
    since declared sizes may lie; a package over a limit leaves nothing
    behind. Files are made
    world-readable (and executable if the zip says so) and directories
    world-searchable, whatever the service's umask: the worker's own
    directory is what keeps other users out, and a sandbox started as
    another user must read them.

    :param zip_path: the package file.
    :param dest: the directory to create and fill.
    :param max_size: ``[storage]max_package_unpacked_size``.
    :param max_members: ``[storage]max_package_members``.
    :raises BadPackage: the file is missing, not a zip, unsafe, or over a
        limit.
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
        members = archive.infolist()
        _check_declared(members, max_size, max_members)
        for member in members:
            target = os.path.realpath(os.path.join(root, member.filename))
            if os.path.commonpath([root, target]) != root:
                raise BadPackage(f"the package member {member.filename!r} "
                                 "is outside the package")
        os.makedirs(root, exist_ok=True)
        try:
            _extract(archive, members, root, max_size)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as e:
            shutil.rmtree(root, ignore_errors=True)
            raise BadPackage(f"the package is not a valid zip file ({e})")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        _fix_modes(root, members)
    compile_modules(root)


def _too_large(max_size):
    return BadPackage(f"the package unpacks to more than the limit of "
                      f"{max_size} bytes ([storage]max_package_unpacked_size)")


def _check_declared(members, max_size, max_members):
    if len(members) > max_members:
        raise BadPackage(f"the package has {len(members)} members, more than "
                         f"the limit of {max_members} "
                         "([storage]max_package_members)")
    if sum(member.file_size for member in members) > max_size:
        raise _too_large(max_size)


def _extract(archive, members, root, max_size):
    """Write the members under ``root``, counting the bytes written.

    :raises BadPackage: they come to more than ``max_size`` bytes.
    """
    budget = max_size
    for member in members:
        target = os.path.join(root, member.filename)
        if member.is_dir():
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(member) as source, open(target, "wb") as out:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                budget -= len(chunk)
                if budget < 0:
                    raise _too_large(max_size)
                out.write(chunk)


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
