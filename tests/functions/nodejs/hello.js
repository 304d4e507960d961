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
// Upstream's Node.js calling convention: handler(context, input).
'use strict';

exports.main = async (context, input) => {
  const name = input && input.name ? input.name : 'World';
  console.log(`Hello, ${name}`);
  console.error('to stderr');
  return {greeting: `Hello, ${name}`, context};
};

exports.failing = () => {
  console.log('about to fail');
  throw new Error('this function always fails');
};

exports.sleepy = (context, input) => new Promise((resolve) => {
  setTimeout(() => resolve('slept'), 1000 * Number(input.seconds));
});

exports.memoryHog = (context, input) => {
  const blocks = [];
  for (let i = 0; i < Number(input.mb); i += 1) {
    blocks.push(Buffer.alloc(1024 * 1024, 1));
  }
  return `allocated ${blocks.length} MiB`;
};

exports.snoop = () => {
  const fs = require('fs');
  const tryWrite = (path) => {
    try {
      fs.writeFileSync(path, 'evil');
      return 'written';
    } catch (e) {
      return e.code;
    }
  };
  return {env: process.env, uid: process.getuid(),
          etc: tryWrite('/etc/evil'), tmp: tryWrite('/tmp/fine')};
};
