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
"""A seccomp filter refusing new user namespaces, for bubblewrap's
``--seccomp``.

A sandbox set up by a root service has no user namespace of its own, so
bubblewrap's ``--disable-userns`` cannot apply; this classic BPF program
does the same job: ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail
with ``EPERM``, ``clone3`` (whose flags it cannot read) with ``ENOSYS``,
so that C libraries fall back to ``clone``. Other system call ABIs of the
machine (i386, x32) are refused entirely. Everything else is allowed.
"""

import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000

#: machine: (AUDIT_ARCH_*, unshare, clone, whether x32 numbers exist).
ARCHES = {
    "x86_64": (0xC000003E, 272, 56, True),
    "aarch64": (0xC00000B7, 97, 220, False),
}
CLONE3 = 435
X32_SYSCALL_BIT = 0x40000000

_LD_ABS = 0x20     # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15        # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35        # BPF_JMP | BPF_JGE | BPF_K
_JSET = 0x45       # BPF_JMP | BPF_JSET | BPF_K
_RET = 0x06        # BPF_RET | BPF_K
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
#: offsets in struct seccomp_data: nr, arch, low half of args[0].
_NR, _ARCH, _ARG0 = 0, 4, 16


def _assemble(program):
    """Resolve labels: ``program`` is a list of (code, k, jt, jf) with jt
    and jf label names (or None for 0) and ``("label", name)`` marks."""
    where, count = {}, 0
    for item in program:
        if item[0] == "label":
            where[item[1]] = count
        else:
            count += 1
    out = []
    for item in program:
        if item[0] == "label":
            continue
        code, k, jt, jf = item
        here = len(out)
        jumps = [0 if name is None else where[name] - here - 1
                 for name in (jt, jf)]
        out.append(struct.pack("=HBBI", code, jumps[0], jumps[1], k))
    return b"".join(out)


def no_user_namespaces(machine=None):
    """The filter for ``machine`` (``platform.machine()`` by default).

    :returns: the program's bytes (``struct sock_filter`` entries), or
        None for a machine this module does not know.
    """
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, unshare, clone, x32 = arch
    program = [
        (_LD_ABS, _ARCH, None, None),
        (_JEQ, audit_arch, "native", "refuse"),
        ("label", "native"),
        (_LD_ABS, _NR, None, None),
    ]
    if x32:
        program.append((_JGE, X32_SYSCALL_BIT, "refuse", None))
    program += [
        (_JEQ, CLONE3, "enosys", None),
        (_JEQ, unshare, "flags", None),
        (_JEQ, clone, "flags", "allow"),
        ("label", "flags"),
        (_LD_ABS, _ARG0, None, None),
        (_JSET, CLONE_NEWUSER, "refuse", "allow"),
        ("label", "allow"),
        (_RET, RET_ALLOW, None, None),
        ("label", "refuse"),
        (_RET, RET_ERRNO | errno.EPERM, None, None),
        ("label", "enosys"),
        (_RET, RET_ERRNO | errno.ENOSYS, None, None),
    ]
    return _assemble(program)
