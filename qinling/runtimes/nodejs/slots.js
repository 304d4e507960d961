// Licensed under the Apache License, Version 2.0 (the "License"); you may
// not use this file except in compliance with the License. You may obtain
// a copy of the License at
//
//      http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
// WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
// License for the specific language governing permissions and limitations
// under the License.

// The cgroup slots of the Node.js runtime (see the Python runtime's
// runtime_limits.py for the design): cgroups prepared, limited and opened
// for this server by whoever started it; an execution's runner moves itself
// into one with the cgroup.procs descriptors it inherits, and the server
// empties the slot afterwards, with pids.current and /proc.
'use strict';

const fs = require('fs');

class Slot {
  constructor(item) {
    this.name = String(item.name);
    this.suffix = `/${String(item.path).replace(/^\/+|\/+$/g, '')}`;
    this.procs = item.procs.map(Number);
    this.pidsCurrent = item.pids_current === null
      || item.pids_current === undefined ? null : Number(item.pids_current);
    // cgroup.kill (v2) and the CPU quota, lifted while killed processes
    // exit (they need CPU to die); see runtime_limits.py.
    this.killFd = item.kill === null || item.kill === undefined
      ? null : Number(item.kill);
    this.quota = item.cpu_quota ? {fd: Number(item.cpu_quota.fd),
                                   unlimited: String(item.cpu_quota.unlimited)}
      : null;
  }

  killAll() {
    if (this.killFd !== null) {
      try {
        fs.writeSync(this.killFd, '1');
        return;
      } catch (e) {
        // fall back to one by one
      }
    }
    for (const pid of this.members()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (e) {
        // gone already
      }
    }
  }

  // Lifts the CPU quota; returns the value to restore, or null.
  liftQuota() {
    if (this.quota === null) {
      return null;
    }
    try {
      const buffer = Buffer.alloc(64);
      const size = fs.readSync(this.quota.fd, buffer, 0, 64, 0);
      fs.writeSync(this.quota.fd, this.quota.unlimited, 0);
      return buffer.subarray(0, size).toString().trim();
    } catch (e) {
      return null;
    }
  }

  restoreQuota(value) {
    if (value !== null) {
      try {
        fs.writeSync(this.quota.fd, value, 0);
      } catch (e) {
        // the next limits written replace it
      }
    }
  }

  processCount() {
    if (this.pidsCurrent === null) {
      return null;
    }
    try {
      const buffer = Buffer.alloc(64);
      const size = fs.readSync(this.pidsCurrent, buffer, 0, 64, 0);
      return Number(buffer.subarray(0, size).toString().trim() || 0);
    } catch (e) {
      return null;
    }
  }

  members() {
    const pids = [];
    let entries = [];
    try {
      entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
    } catch (e) {
      return pids;
    }
    for (const entry of entries) {
      let text;
      try {
        text = fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      } catch (e) {
        continue;
      }
      if (text.split('\n').some((line) => line.endsWith(this.suffix))) {
        pids.push(Number(entry));
      }
    }
    return pids;
  }

  // Resolves true once the slot is empty (or cannot be checked).
  async clean(budgetMs) {
    const deadline = Date.now() + budgetMs;
    let lifted;
    try {
      for (;;) {
        if (!this.processCount()) {
          return true;
        }
        if (Date.now() >= deadline) {
          return false;
        }
        if (lifted === undefined) {
          lifted = this.liftQuota();
        }
        this.killAll();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      if (lifted !== undefined) {
        this.restoreQuota(lifted);
      }
    }
  }
}

class Slots {
  // With no slots, every acquire gives null at once (rlimits only).
  constructor(slots) {
    this.all = slots;
    this.free = [...slots];
    this.waiters = [];
  }

  // A free slot, null without slots, undefined if all are busy.
  tryAcquire() {
    if (!this.all.length) {
      return null;
    }
    return this.free.length ? this.free.shift() : undefined;
  }

  // Resolves a slot, null without slots, undefined at the deadline.
  acquire(deadline) {
    const slot = this.tryAcquire();
    if (slot !== undefined) {
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => {
      const waiter = {resolve};
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, Math.max(0, deadline - Date.now()));
      this.waiters.push(waiter);
    });
  }

  // Empties a slot and gives it back; resolves false if it stayed dirty.
  async release(slot, budgetMs) {
    if (!slot) {
      return true;
    }
    if (!(await slot.clean(budgetMs))) {
      return false;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(slot);
    } else {
      this.free.push(slot);
    }
    return true;
  }
}

function parse(spec) {
  if (!spec) {
    return new Slots([]);
  }
  const data = JSON.parse(spec);
  return new Slots((data.slots || []).map((item) => new Slot(item)));
}

module.exports = {parse, Slot, Slots};
