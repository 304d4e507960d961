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

// One execution of the Node.js runtime: a child of server.js.
//
// server.js starts this process ahead of time (warm), with its cgroup
// slot's cgroup.procs descriptors at fd 4 and up, and stdout/stderr piped
// into the execution's log. On the 'execute' message it enters the slot,
// closes those descriptors, loads the function's module, calls
// handler(context, input) as upstream Qinling did, awaits the result,
// reports it with its CPU use and peak memory, and exits. It serves one
// execution only, so nothing leaks between executions.
'use strict';

const fs = require('fs');
const path = require('path');

const DEFAULT_ENTRY = 'main.main';
const MAX_RESULT_SIZE = Number(process.env.QINLING_MAX_RESULT_SIZE || 0);
delete process.env.QINLING_MAX_RESULT_SIZE;

function slotFds() {
  const count = Number(process.env.QINLING_SLOT_FDS || 0);
  const fds = [];
  for (let i = 0; i < count; i += 1) {
    fds.push(4 + i);
  }
  return fds;
}

function enterSlot() {
  for (const fd of slotFds()) {
    fs.writeSync(fd, '0');
  }
  for (const fd of slotFds()) {
    fs.closeSync(fd);
  }
  delete process.env.QINLING_SLOT_FDS;
}

function loadHandler(entry, funcDir) {
  const spec = entry || DEFAULT_ENTRY;
  const dot = spec.lastIndexOf('.');
  const moduleName = dot > 0 ? spec.slice(0, dot) : spec;
  const attr = dot > 0 ? spec.slice(dot + 1) : 'main';
  const modulePath = path.resolve(funcDir, moduleName);
  if (path.relative(funcDir, modulePath).startsWith('..')) {
    throw new Error(`Invalid entry ${spec}.`);
  }
  const loaded = require(modulePath);
  const handler = loaded[attr];
  if (typeof handler !== 'function') {
    throw new TypeError(`${spec} is not a function.`);
  }
  return handler;
}

function jsonable(value) {
  if (value === undefined) {
    return null;
  }
  try {
    JSON.stringify(value);
    return value;
  } catch (e) {
    return String(value);
  }
}

function usageSince(before) {
  const now = process.resourceUsage();
  return {
    cpu_time: (now.userCPUTime + now.systemCPUTime
               - before.userCPUTime - before.systemCPUTime) / 1e6,
    memory_peak: now.maxRSS * 1024,
  };
}

function report(message) {
  process.send(message, () => process.exit(0));
}

// The result, or a failure naming the limit when its JSON text is longer
// than QINLING_MAX_RESULT_SIZE bytes (0: no limit).
function limitResult(success, output) {
  const limit = MAX_RESULT_SIZE;
  if (limit && Buffer.byteLength(JSON.stringify(output)) > limit) {
    return [false, resultTooLarge(limit)];
  }
  return [success, output];
}

function resultTooLarge(limit) {
  return `The function's result exceeded the limit of ${limit} bytes.`;
}

async function execute(message) {
  const before = process.resourceUsage();
  const params = message.params;
  let success = false;
  let output;
  enterSlot();
  process.chdir(message.execDir);
  // The function's environment, in this one-execution process only.
  Object.assign(process.env, params.environment || {});
  process.env.TMPDIR = message.execDir;
  process.stdout.write(`Start execution: ${params.execution_id}\n`);
  try {
    const handler = loadHandler(params.entry, message.funcDir);
    output = jsonable(await handler({}, params.input));
    success = true;
  } catch (error) {
    console.error(error && error.stack ? error.stack : String(error));
    output = error && error.message ? error.message : String(error);
  }
  process.stdout.write(`Finished execution: ${params.execution_id}\n`);
  [success, output] = limitResult(success, output);
  report({type: 'result', success, output, usage: usageSince(before)});
}

process.on('uncaughtException', (error) => {
  console.error(error && error.stack ? error.stack : String(error));
  report({type: 'result', success: false,
          output: error && error.message ? error.message : String(error)});
});

process.on('message', (message) => {
  if (message && message.type === 'execute') {
    execute(message);
  }
});

process.send({type: 'ready'});
