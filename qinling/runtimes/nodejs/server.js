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

// The Node.js runtime server: runs user functions for the engine.
//
// Node's standard library only (no npm dependencies) and nothing of the
// Qinling service: this file, runners.js, runner.js and slots.js run alone
// in a local sandbox or in a container image. Usage:
//
//   node server.js --socket PATH | --socket-fd FD | --port 9090 [--host H]
//                  [--packages DIR] [--cgroups JSON] [--max-open-files N]
//                  [--max-file-size BYTES] [--max-processes N]
//                  [--max-result-size BYTES] [--rlimit-memory]
//                  [--sidecar URL]
//
// The protocol is the Python runtime's (upstream Qinling's): GET /ping
// answers "pong"; POST /execute answers {output, duration, logs, success,
// cpu_time, memory_peak}. A function is <packages>/<function_id>/<module>.js
// exporting <handler>, called as handler(context, input). Unlike upstream,
// each execution runs in its own child process (runner.js, started ahead of
// time so a call costs no Node start-up), with its timeout, its cgroup slot
// (memory, CPU, processes), rlimits and its stdout/stderr as the log. Its
// current directory is its own writable directory (also its TMPDIR),
// removed when it ends; a result whose JSON text is longer than
// --max-result-size bytes fails the execution with a message naming the
// limit.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const {Runner, TIMEOUT_MESSAGE} = require('./runners');
const slots = require('./slots');

const DEFAULT_TIMEOUT = 5;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const CLEAN_BUDGET_MS = 60000;
// runners started ahead of time, each waiting for an execution.
const WARM_RUNNERS = 2;

function parseArgs(argv) {
  const args = {packages: '/var/qinling/packages', host: '0.0.0.0',
                maxOpenFiles: 1024, maxFileSize: 500 * 1024 * 1024,
                maxProcesses: 0, maxResultSize: 5 * 1024 * 1024,
                rlimitMemory: false, cgroups: '',
                sidecar: 'http://127.0.0.1:9091'};
  const names = {'--socket': 'socket', '--socket-fd': 'socketFd',
                 '--port': 'port', '--host': 'host', '--packages': 'packages',
                 '--cgroups': 'cgroups', '--sidecar': 'sidecar',
                 '--max-open-files': 'maxOpenFiles',
                 '--max-file-size': 'maxFileSize',
                 '--max-processes': 'maxProcesses',
                 '--max-result-size': 'maxResultSize'};
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--rlimit-memory') {
      args.rlimitMemory = true;
    } else if (names[argv[i]] && i + 1 < argv.length) {
      args[names[argv[i]]] = argv[i + 1];
      i += 1;
    } else {
      throw new Error(`Unknown argument ${argv[i]}`);
    }
  }
  for (const key of ['socketFd', 'port', 'maxOpenFiles', 'maxFileSize',
                     'maxProcesses', 'maxResultSize']) {
    if (args[key] !== undefined) {
      args[key] = Number(args[key]);
    }
  }
  if ([args.socket, args.socketFd, args.port].every((v) => v === undefined)) {
    throw new Error('One of --socket, --socket-fd or --port is required.');
  }
  return args;
}

class Runtime {
  constructor(config) {
    this.config = config;
    this.slots = slots.parse(config.cgroups);
    this.warm = [];
    this.stopping = false;
    this.running = new Set();
    this.ensureWarm();
  }

  // Keep WARM_RUNNERS runners started ahead of time, each holding a slot
  // (not when the memory limit is an rlimit: that needs the execution's
  // memory_size at start).
  ensureWarm() {
    while (this.warm.length < WARM_RUNNERS && !this.stopping
           && !this.config.rlimitMemory) {
      const slot = this.slots.tryAcquire();
      if (slot === undefined) {
        return;
      }
      try {
        this.warm.push(new Runner(this.config, slot, 0));
      } catch (e) {
        this.slots.release(slot, CLEAN_BUDGET_MS);
        return;
      }
    }
  }

  // A warm runner (a ready one first), else a new one in a free slot.
  async takeRunner(params, deadline) {
    for (const dead of this.warm.filter((r) => r.exitCode !== undefined)) {
      dead.dispose();
      this.slots.release(dead.slot, CLEAN_BUDGET_MS);
    }
    this.warm = this.warm.filter((r) => r.exitCode === undefined);
    const ready = this.warm.find((r) => r.ready) || this.warm[0];
    if (ready) {
      this.warm = this.warm.filter((r) => r !== ready);
      return ready;
    }
    const slot = await this.slots.acquire(deadline);
    if (slot === undefined) {
      return null;
    }
    return new Runner(this.config, slot, params.memory_size);
  }

  async execute(params, funcDir) {
    const started = process.hrtime.bigint();
    const deadline = Date.now() + params.timeout * 1000;
    const runner = await this.takeRunner(params, deadline);
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    if (!runner) {
      return {output: TIMEOUT_MESSAGE, duration: round(seconds()), logs: '',
              success: false, cpu_time: 0, memory_peak: 0};
    }
    this.running.add(runner);
    const execDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qinling-exec-'));
    try {
      setImmediate(() => this.ensureWarm());
      const done = await runner.run(params, funcDir, execDir, deadline,
                                    () => this.stopping);
      return {output: done.output, duration: round(seconds()),
              logs: runner.logs(), success: done.success,
              cpu_time: done.usage.cpu_time === null ? null
                : round(done.usage.cpu_time),
              memory_peak: done.usage.memory_peak};
    } finally {
      this.running.delete(runner);
      fs.rmSync(execDir, {recursive: true, force: true});
      this.slots.release(runner.slot, CLEAN_BUDGET_MS).then((clean) => {
        if (!clean) {
          console.error('A cgroup slot kept processes; stopping so that the '
                        + 'worker is replaced');
          this.stop();
        }
        this.ensureWarm();
      });
    }
  }

  stop() {
    this.stopping = true;
    for (const runner of [...this.running, ...this.warm]) {
      if (runner) {
        runner.kill();
        runner.dispose();
      }
    }
    if (this.server) {
      this.server.close();
      this.server.closeAllConnections();
    }
  }
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}

function validate(body) {
  let params;
  try {
    params = JSON.parse(body);
  } catch (e) {
    throw httpError(400, 'The request body is not valid JSON.');
  }
  if (!params || typeof params !== 'object' || Array.isArray(params)) {
    throw httpError(400, 'The request body must be a JSON object.');
  }
  for (const key of ['execution_id', 'function_id']) {
    if (!params[key]) {
      throw httpError(400, `The request body has no ${key}.`);
    }
  }
  if (params.timeout === undefined || params.timeout === null) {
    params.timeout = DEFAULT_TIMEOUT;
  }
  if (typeof params.timeout !== 'number' || !(params.timeout > 0)) {
    throw httpError(400, 'timeout must be a positive number of seconds.');
  }
  const fid = params.function_id;
  if (typeof fid !== 'string' || fid === '.' || fid === '..'
      || fid.includes('/') || fid.includes('\0')) {
    throw httpError(400, 'Invalid function_id.');
  }
  const env = params.environment;
  if (env !== undefined && env !== null && (
    typeof env !== 'object' || Array.isArray(env)
      || !Object.entries(env).every(([k, v]) => typeof v === 'string'
        && k && !k.includes('=') && !k.includes('\0')
        && !v.includes('\0')))) {
    throw httpError(400, 'environment must be an object of names to strings.');
  }
  return params;
}

function httpError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

async function packageDir(config, params) {
  const funcDir = path.join(config.packages, params.function_id);
  if (fs.existsSync(funcDir)) {
    return funcDir;
  }
  if (!params.download_url) {
    throw httpError(500, `The package of function ${params.function_id} is `
                    + 'not available in this worker and no download_url '
                    + 'was given.');
  }
  // In a pod, the sidecar downloads and unzips packages (upstream's way).
  const body = JSON.stringify({download_url: params.download_url,
                               function_id: params.function_id,
                               token: params.token, unzip: true});
  const answer = await post(`${config.sidecar}/download`, body);
  if (answer.status >= 300 || !fs.existsSync(funcDir)) {
    throw httpError(500, 'Failed to download function package from '
                    + `${params.download_url}, error: ${answer.text}`);
  }
  return funcDir;
}

function post(url, body) {
  return new Promise((resolve) => {
    const request = http.request(url, {
      method: 'POST', headers: {'Content-Type': 'application/json'},
    }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => resolve({
        status: response.statusCode,
        text: Buffer.concat(chunks).toString('utf8')}));
    });
    request.on('error', (e) => resolve({status: 599, text: e.message}));
    request.end(body);
  });
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(httpError(400, 'Invalid Content-Length.'));
        request.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response, code, body) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain'
      : 'application/json',
    'Content-Length': Buffer.byteLength(data)});
  response.end(data);
}

async function handle(runtime, request, response) {
  if (request.method === 'GET' && request.url === '/ping') {
    send(response, 200, 'pong');
    return;
  }
  if (request.method !== 'POST' || request.url !== '/execute') {
    send(response, 404, {output: 'Not found.', success: false});
    return;
  }
  let params;
  let funcDir;
  try {
    params = validate(await readBody(request));
    funcDir = await packageDir(runtime.config, params);
  } catch (error) {
    send(response, error.code || 500, {output: error.message,
                                       success: false});
    return;
  }
  try {
    send(response, 200, await runtime.execute(params, funcDir));
  } catch (error) {
    send(response, 500, {output: 'The runtime could not start the '
                         + `execution: ${error.message}`, success: false});
  }
}

function listen(server, config) {
  if (config.socketFd !== undefined) {
    server.listen({fd: config.socketFd});
  } else if (config.socket) {
    if (fs.existsSync(config.socket)) {
      fs.unlinkSync(config.socket);
    }
    server.listen(config.socket, () => fs.chmodSync(config.socket, 0o600));
  } else {
    server.listen(config.port, config.host);
  }
}

function main() {
  const config = parseArgs(process.argv.slice(2));
  const runtime = new Runtime(config);
  const server = http.createServer((request, response) => {
    handle(runtime, request, response);
  });
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  runtime.server = server;
  listen(server, config);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => runtime.stop());
  }
}

main();
