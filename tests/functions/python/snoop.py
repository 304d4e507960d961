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
"""Hostile: look at the host from inside: environment, processes, network,
privileges."""

import os
import socket


def _environ_of(pid):
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as e:
        return type(e).__name__


def main(port=None, **kwargs):
    found = {"environ": dict(os.environ), "uid": os.getuid(),
             "processes": sorted(int(p) for p in os.listdir("/proc")
                                 if p.isdigit()),
             "environ_of_1": _environ_of(1)}
    with open("/proc/self/status") as f:
        found["cap_eff"] = [line.split()[1] for line in f
                            if line.startswith("CapEff")][0]
    if port:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=2)
            found["api"] = "reached"
        except OSError as e:
            found["api"] = type(e).__name__
    return found
