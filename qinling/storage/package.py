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
"""The checks every storage provider makes on a package before keeping it.

A package is spooled to a temporary file while its md5 and size are
computed, then checked as a zip whose members stay inside the directory it
is unpacked into. Providers move the checked file into place (the local
provider) or upload it (Swift); a refused package leaves no file behind.
"""

import hashlib
import os
import tempfile
import zipfile

from qinling import exceptions

CHUNK = 64 * 1024


def file_chunks(data):
    """The chunks of a readable binary file, until its end."""
    return iter(lambda: data.read(CHUNK), b"")


def check_zip_members(path):
    """Raise InputException unless ``path`` is a zip whose members stay
    inside the directory it is unpacked into."""
    if not zipfile.is_zipfile(path):
        raise exceptions.InputException(
            "Package is not a valid ZIP package.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        raise exceptions.InputException(
            "Package is not a valid ZIP package.")
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise exceptions.InputException(
                "Package member %r escapes the package directory." % name)


def spool(chunks, directory, max_size, md5sum=None):
    """Write ``chunks`` to a new file in ``directory`` and check it.

    :param chunks: an iterable of bytes (see :func:`file_chunks`).
    :param max_size: the largest size accepted, in bytes.
    :param md5sum: the md5 the caller expects, if any.
    :returns: ``(path, md5)`` of the checked file; the caller moves or
        deletes it.
    :raises InputException: empty, md5 mismatch, not a zip, or a member
        that escapes the package directory.
    :raises RequestEntityTooLarge: over ``max_size``.
    """
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise exceptions.RequestEntityTooLarge(
                        "Package is larger than the limit of %d bytes."
                        % max_size)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise exceptions.InputException("Package is empty.")
        actual = digest.hexdigest()
        if md5sum and md5sum != actual:
            raise exceptions.InputException("Package md5 mismatch.")
        check_zip_members(path)
    except BaseException:
        os.unlink(path)
        raise
    return path, actual
