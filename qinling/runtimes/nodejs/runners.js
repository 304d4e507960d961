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

// The runner processes of the Node.js runtime, as server.js sees them:
// starting runner.js (under prlimit for its rlimits) with its cgroup slot's
// descriptors and a private log file, handing it one execution, enforcing
// the timeout, and turning how it ended into upstream's messages.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const TIMEOUT_MESSAGE = 'Function execution timeout.';
const RESOURCE_MESSAGE = ('Function execution failed because of too much '
                          + 'resource consumption');
const STOPPED_MESSAGE = ('The worker running the execution was stopped '
                         + 'before the execution finished.');
const MAX_LOG_BYTES = 1024 * 1024;
const EXIT_GRACE_MS = 1000;
const RUNNER = path.join(__dirname, 'runner.js');
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find(
  (p) => fs.existsSync(p));

let runnerCount = 0;

class Runner {
  // A started runner.js, bound to a slot, waiting for its execution. Its
  // stdout and stderr go, in order, to one private log file.
  constructor(config, slot, memorySize) {
    this.slot = slot;
    this.maxResultSize = config.maxResultSize;
    this.closed = new Promise((resolve) => {
      this.closeResolve = resolve;
    });
    runnerCount += 1;
    this.logPath = path.join(
      os.tmpdir(), `qinling-runner-${process.pid}-${runnerCount}.log`);
    const fds = slot ? slot.procs : [];
    const logFd = fs.openSync(this.logPath, 'a', 0o600);
    try {
      const [command, argv] = runnerCommand(config, memorySize);
      this.child = childProcess.spawn(command, argv, {
        stdio: ['ignore', logFd, logFd, 'ipc', ...fds],
        detached: true,
        cwd: '/',
        env: {...process.env, QINLING_SLOT_FDS: String(fds.length),
              QINLING_MAX_RESULT_SIZE: String(config.maxResultSize || 0)},
      });
    } finally {
      fs.closeSync(logFd);
    }
    this.ready = false;
    this.child.on('message', (message) => {
      if (message && message.type === 'ready') {
        this.ready = true;
      }
    });
    this.child.on('error', () => this.closeResolve());
    this.child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
      this.closeResolve();
    });
  }

  // The log, at most MAX_LOG_BYTES of it; the file is removed.
  logs() {
    let text = '';
    try {
      const fd = fs.openSync(this.logPath, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const buffer = Buffer.alloc(Math.min(size, MAX_LOG_BYTES));
        const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
        text = buffer.subarray(0, read).toString('utf8');
        if (size > MAX_LOG_BYTES) {
          text += (`\n[logs truncated: ${MAX_LOG_BYTES} of ${size} bytes `
                   + 'shown]\n');
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      // no log
    }
    this.dispose();
    return text;
  }

  dispose() {
    fs.rmSync(this.logPath, {force: true});
  }

  kill() {
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch (e) {
      // already gone
    }
  }

  usageFromProc() {
    try {
      const stat = fs.readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = fs.readFileSync(`/proc/${this.child.pid}/status`,
                                     'utf8');
      const hwm = /VmHWM:\s+(\d+)/.exec(status);
      return {cpu_time: (Number(fields[11]) + Number(fields[12])) / 100,
              memory_peak: hwm ? Number(hwm[1]) * 1024 : 0};
    } catch (e) {
      return {cpu_time: null, memory_peak: null};
    }
  }

  // Run one execution; resolves {success, output, usage}.
  async run(params, funcDir, execDir, deadline, stopping) {
    let result = null;
    const answered = new Promise((resolve) => {
      this.child.on('message', (message) => {
        if (message && message.type === 'result' && !result) {
          result = message;
          resolve();
        }
      });
    });
    try {
      this.child.send({type: 'execute', params, funcDir, execDir});
    } catch (e) {
      // the runner is gone; 'close' says how
    }
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'),
                         Math.max(0, deadline - Date.now()));
    });
    const first = await Promise.race([answered, this.closed, timedOut]);
    clearTimeout(timer);
    let usage = null;
    if (result) {
      // Its logs are written (synchronously) and its answer is in: the
      // runner's own exit, slow under a small CPU quota, is not waited
      // for; its slot is emptied before it serves again.
      usage = result.usage || this.usageFromProc();
      this.kill();
      // Checked again here: user code can send messages of its own.
      const limit = Number(this.maxResultSize || 0);
      if (limit && Buffer.byteLength(JSON.stringify(
        result.output === undefined ? null : result.output)) > limit) {
        return {success: false, usage, output:
                `The function's result exceeded the limit of ${limit} bytes.`};
      }
      return {success: result.success === true, output: result.output,
              usage};
    }
    if (first === 'timeout') {
      usage = this.usageFromProc();
      this.kill();
    }
    await Promise.race([this.closed, delay(EXIT_GRACE_MS)]);
    this.kill();
    let output = RESOURCE_MESSAGE;
    if (first === 'timeout') {
      output = TIMEOUT_MESSAGE;
    } else if (stopping()) {
      output = STOPPED_MESSAGE;
    } else if (this.exitSignal === null && this.exitCode !== 134) {
      output = `Function called process.exit(${this.exitCode}).`;
    }
    return {success: false, output,
            usage: usage || {cpu_time: null, memory_peak: null}};
  }
}

function runnerCommand(config, memorySize) {
  const nodeArgs = [];
  if (config.rlimitMemory && memorySize) {
    nodeArgs.push(`--max-old-space-size=${Math.max(
      8, Math.floor(memorySize / 1048576))}`);
  }
  const argv = [...nodeArgs, RUNNER];
  if (!PRLIMIT) {
    return [process.execPath, argv];
  }
  const limits = [`--nofile=${config.maxOpenFiles}:`,
                  `--fsize=${config.maxFileSize}:`];
  if (config.maxProcesses) {
    limits.push(`--nproc=${config.maxProcesses}:`);
  }
  return [PRLIMIT, [...limits, '--', process.execPath, ...argv]];
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = {Runner, TIMEOUT_MESSAGE};
