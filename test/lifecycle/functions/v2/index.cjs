'use strict';
// Version v2 of Life/fn. "hold:<file>" waits until <file> exists (a call in flight during a
// redeploy); anything else answers at once. Both answer with the version and the pid.
const fs = require('node:fs');

exports.handler = async (event) => {
  const text = event.toString('utf8');
  if (text.startsWith('hold:')) {
    while (!fs.existsSync(text.slice(5))) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log('v2 ran');
  return 'v2 ' + process.pid;
};
