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
"""Build Swift's account, container and object rings, one device each.

Run by the Swift venv's Python (one process instead of nine
``swift-ring-builder`` calls)::

    python swift_rings.py SWIFT_DIR DEVICE ACCOUNT_PORT CONTAINER_PORT \
        OBJECT_PORT
"""

import os
import sys

from swift.common.ring import RingBuilder


def build(swift_dir, device, ports):
    for name, port in ports.items():
        builder = RingBuilder(part_power=8, replicas=1, min_part_hours=1)
        builder.add_dev({"id": 0, "region": 1, "zone": 1,
                         "ip": "127.0.0.1", "port": port,
                         "device": device, "weight": 100, "meta": ""})
        builder.rebalance()
        builder.save(os.path.join(swift_dir, name + ".builder"))
        builder.get_ring().save(os.path.join(swift_dir, name + ".ring.gz"))


if __name__ == "__main__":
    swift_dir, device, account, container, obj = sys.argv[1:]
    build(swift_dir, device, {"account": int(account),
                              "container": int(container),
                              "object": int(obj)})
