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
"""Cgroups of local workers: parsing and planning tables, then the real
cgroup file system of this host when it lets us."""

import json
import os
import subprocess

import pytest

from qinling.orchestrator.local import cgroup_plan
from qinling.orchestrator.local import cgroups
from qinling.runtimes.python3 import runtime_limits

HYBRID_MOUNTINFO = """\
25 30 0:22 / /sys rw - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
34 33 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
35 33 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
36 33 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
37 33 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
38 33 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = """\
8:pids:/
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
"""
V2_MOUNTINFO = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
V2_CGROUP = "0::/system.slice/qinling.service\n"
CONTAINER_MOUNTINFO = (
    "40 33 0:31 /docker/c1 /sys/fs/cgroup/memory ro - cgroup cgroup "
    "rw,memory\n"
    "41 33 0:29 /docker/c1 /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup "
    "rw,cpu,cpuacct\n")
CONTAINER_CGROUP = "4:memory:/docker/c1\n2:cpu,cpuacct:/docker/c1\n"


def hierarchies(mountinfo, cgroup, parent=None, v2=()):
    return cgroup_plan.plan(cgroup_plan.parse_mountinfo(mountinfo),
                        cgroup_plan.parse_membership(cgroup), parent, v2)


PLAN_TABLE = [
    ("hybrid host: v1 controllers under the service's own cgroups",
     HYBRID_MOUNTINFO, HYBRID_CGROUP, None, ("hugetlb",), [
         cgroup_plan.Hierarchy(1, ("cpu",), "/sys/fs/cgroup/cpu/"),
         cgroup_plan.Hierarchy(1, ("memory",),
                           "/sys/fs/cgroup/memory/process_api/abc"),
         cgroup_plan.Hierarchy(1, ("pids",), "/sys/fs/cgroup/pids/")]),
    ("pure v2: one hierarchy for the controllers the parent offers",
     V2_MOUNTINFO, V2_CGROUP, None, ("cpu", "memory", "pids", "io"), [
         cgroup_plan.Hierarchy(2, ("memory", "cpu", "pids"),
                           "/sys/fs/cgroup/system.slice/qinling.service")]),
    ("v2 with a configured parent and no pids offered",
     V2_MOUNTINFO, V2_CGROUP, "/qinling.slice", ("cpu", "memory"), [
         cgroup_plan.Hierarchy(2, ("memory", "cpu"),
                           "/sys/fs/cgroup/qinling.slice")]),
    ("a container's mount shows its own subtree",
     CONTAINER_MOUNTINFO, CONTAINER_CGROUP, None, (), [
         cgroup_plan.Hierarchy(1, ("memory",), "/sys/fs/cgroup/memory/"),
         cgroup_plan.Hierarchy(1, ("cpu",), "/sys/fs/cgroup/cpu,cpuacct/")]),
    ("no cgroup mounted at all", "", "", None, (), []),
]


@pytest.mark.parametrize("case,mountinfo,cgroup,parent,v2,expected",
                         PLAN_TABLE, ids=[row[0] for row in PLAN_TABLE])
def test_plan_chooses_a_hierarchy_per_controller(case, mountinfo, cgroup,
                                                 parent, v2, expected):
    assert hierarchies(mountinfo, cgroup, parent, v2) == expected


LIMITS = cgroup_plan.Limits(memory=32 * 1024 * 1024, millicpu=150,
                        processes=64)
WRITES_TABLE = [
    (cgroup_plan.Hierarchy(1, ("memory",), "/m"),
     [("memory.limit_in_bytes", "33554432")]),
    (cgroup_plan.Hierarchy(1, ("cpu",), "/c"),
     [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "15000")]),
    (cgroup_plan.Hierarchy(1, ("pids",), "/p"), [("pids.max", "64")]),
    (cgroup_plan.Hierarchy(2, ("memory", "cpu", "pids"), "/u"),
     [("memory.max", "33554432"), ("memory.swap.max", "0"),
      ("cpu.max", "15000 100000"), ("pids.max", "64")]),
]


@pytest.mark.parametrize("hierarchy,expected", WRITES_TABLE)
def test_limits_are_written_with_each_versions_file_names(hierarchy,
                                                          expected):
    assert cgroup_plan.limit_writes(hierarchy, LIMITS) == expected


def test_a_tiny_cpu_share_still_gets_the_kernels_minimum_quota():
    writes = cgroup_plan.limit_writes(cgroup_plan.Hierarchy(2, ("cpu",), "/u"),
                                  cgroup_plan.Limits(1, 1, 1))
    assert writes == [("cpu.max", "1000 100000")]


def test_turned_off_cgroups_say_why():
    manager = cgroups.CgroupManager.detect(enabled=False)
    assert manager.controllers == ()
    assert manager.reason == "cgroups are turned off ([local]use_cgroups)"
    assert manager.create_worker("w", 2) is None


@pytest.fixture
def manager():
    found = cgroups.CgroupManager.detect()
    if not found.controllers:
        pytest.skip(f"no usable cgroups here: {found.reason}")
    yield found
    found.destroy()


def read(path):
    with open(path) as f:
        return f.read().strip()


def test_a_workers_slots_get_the_functions_limits(manager):
    worker = manager.create_worker("w-limits", 2)
    worker.apply(LIMITS)
    for hierarchy in manager.hierarchies:
        slot = os.path.join(hierarchy.parent, manager.root_name,
                            "w-limits", "slot-1")
        for name, value in cgroup_plan.limit_writes(hierarchy, LIMITS):
            if os.path.exists(os.path.join(slot, name)):
                assert read(os.path.join(slot, name)).split()[0] == \
                    value.split()[0]
    worker.destroy()
    for hierarchy in manager.hierarchies:
        assert not os.path.exists(os.path.join(
            hierarchy.parent, manager.root_name, "w-limits"))


def test_a_process_entering_a_slot_is_killed_when_the_worker_goes(manager):
    worker = manager.create_worker("w-kill", 1)
    spec, fds = worker.open_for_worker()
    slot = json.loads(spec)["slots"][0]
    assert slot["path"] == f"{manager.root_name}/w-kill/slot-0"
    procs = slot["procs"]
    try:
        sleeper = subprocess.Popen(
            ["sleep", "60"],
            preexec_fn=lambda: [os.write(fd, b"0") for fd in procs])
    finally:
        for fd in fds:
            os.close(fd)
    with open(f"/proc/{sleeper.pid}/cgroup") as f:
        assert "/w-kill/slot-0" in f.read()

    worker.destroy()

    assert sleeper.wait(10) == -9


SLOT_FILES_TABLE = [
    (cgroup_plan.Hierarchy(1, ("memory",), "/m"),
     {"oom": "memory.oom_control"}),
    (cgroup_plan.Hierarchy(1, ("cpu",), "/c"),
     {"cpu_quota": ("cpu.cfs_quota_us", "-1")}),
    (cgroup_plan.Hierarchy(1, ("pids",), "/p"), {}),
    (cgroup_plan.Hierarchy(2, ("memory", "cpu", "pids"), "/u"),
     {"kill": "cgroup.kill", "cpu_quota": ("cpu.max", "max"),
      "oom": "memory.events"}),
]


@pytest.mark.parametrize("hierarchy,expected", SLOT_FILES_TABLE)
def test_a_slot_hands_its_server_the_files_to_end_an_execution(hierarchy,
                                                               expected):
    assert cgroup_plan.slot_files(hierarchy) == expected


def test_leftovers_of_a_throttled_slot_are_killed_with_its_quota_lifted(
        manager):
    if "pids" not in manager.controllers or "cpu" not in manager.controllers:
        pytest.skip("needs the pids and cpu controllers")
    worker = manager.create_worker("w-leftovers", 1)
    worker.apply(cgroup_plan.Limits(memory=64 * 1024 * 1024, millicpu=10,
                                    processes=64))
    spec, fds = worker.open_for_worker()
    try:
        slot = runtime_limits.parse_slots(spec).all[0]
        assert slot.quota is not None
        quota_before = os.pread(slot.quota[0], 64, 0)
        sleepers = [subprocess.Popen(
            ["sleep", "60"], preexec_fn=slot.enter) for _ in range(20)]
        assert slot.process_count() == 20

        assert slot.clean(10, before_check=lambda: [
            s.poll() for s in sleepers])

        assert [s.wait(10) for s in sleepers] == [-9] * 20
        assert slot.process_count() == 0
        assert os.pread(slot.quota[0], 64, 0) == quota_before
        assert slot.was_oom_killed() in (False, None)
    finally:
        for fd in fds:
            os.close(fd)
        worker.destroy()
