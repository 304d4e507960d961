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
is unpacked into, and (when the provider stores a new package) whose
declared unpacked size and member count are within ``[storage]`` limits:
read from the zip's central directory, without unpacking it. Providers
move the checked file into place (the local provider) or upload it
(Swift); a refused package leaves no file behind.
"""

import dataclasses
import hashlib
import os
import tempfile
import zipfile

from qinling import exceptions

CHUNK = 64 * 1024


def file_chunks(data):
    """The chunks of a readable binary file, until its end."""
    return iter(lambda: data.read(CHUNK), b"")


@dataclasses.dataclass(frozen=True)
class UnpackLimits:
    """How large a package may be once unpacked."""

    #: bytes of all its files together.
    max_size: int
    #: files and directories.
    max_members: int

    @classmethod
    def from_conf(cls, conf):
        return cls(conf.storage.max_package_unpacked_size,
                   conf.storage.max_package_members)

    def check(self, members):
        """Raise InputException if the zip members (``ZipInfo``) declare
        more than these limits allow."""
        if len(members) > self.max_members:
            raise exceptions.InputException(
                "Package has %d members, more than the limit of %d "
                "([storage]max_package_members)."
                % (len(members), self.max_members))
        size = sum(member.file_size for member in members)
        if size > self.max_size:
            raise exceptions.InputException(
                "Package unpacks to %d bytes, more than the limit of %d "
                "bytes ([storage]max_package_unpacked_size)."
                % (size, self.max_size))


def check_zip_members(path, limits=None):
    """Raise InputException unless ``path`` is a zip whose members stay
    inside the directory it is unpacked into (and within ``limits``, an
    :class:`UnpackLimits`, if given)."""
    if not zipfile.is_zipfile(path):
        raise exceptions.InputException(
            "Package is not a valid ZIP package.")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise exceptions.InputException(
            "Package is not a valid ZIP package.")
    if limits is not None:
        limits.check(members)
    for name in (member.filename for member in members):
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise exceptions.InputException(
                "Package member %r escapes the package directory." % name)


def spool(chunks, directory, max_size, md5sum=None, unpack_limits=None):
    """Write ``chunks`` to a new file in ``directory`` and check it.

    :param chunks: an iterable of bytes (see :func:`file_chunks`).
    :param max_size: the largest size accepted, in bytes.
    :param md5sum: the md5 the caller expects, if any.
    :param unpack_limits: the :class:`UnpackLimits` of a new package.
    :returns: ``(path, md5)`` of the checked file; the caller moves or
        deletes it.
    :raises InputException: empty, md5 mismatch, not a zip, a member
        that escapes the package directory, or over ``unpack_limits``.
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
        check_zip_members(path, unpack_limits)
    except BaseException:
        os.unlink(path)
        raise
    return path, actual
