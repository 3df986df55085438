'use strict';
// Appends one JSON line per run to $RECORD_FILE (proof of each execution, with its retryCount,
// invokerContext and event), then behaves as the event says:
//   "fail"        fails every time            "fail-twice"  fails on the first two attempts
//   a number      holds the call that many ms  anything else answers "done:<event>"
//   "hold-until:PATH"  holds the call until the file PATH exists (the test releases it)
const fs = require('node:fs');
exports.handler = (event, context, callback) => {
  const text = event.toString('utf8');
  fs.appendFileSync(
    process.env.RECORD_FILE,
    `${JSON.stringify({ fn: context.function.name, requestId: context.requestId, retryCount: context.retryCount, at: Date.now(), invokerContext: context.invokerContext, event: text })}\n`,
  );
  console.log(`run ${context.requestId} retry ${context.retryCount}`);
  if (text === 'fail' || (text === 'fail-twice' && context.retryCount < 2)) {
    callback(new Error(`failing on purpose (retry ${context.retryCount})`));
    return;
  }
  if (text.startsWith('hold-until:')) {
    const path = text.slice('hold-until:'.length);
    const poll = setInterval(() => {
      if (!fs.existsSync(path)) return;
      clearInterval(poll);
      callback(null, 'released');
    }, 20);
    return;
  }
  const holdMs = Number(text);
  setTimeout(() => callback(null, `done:${text}`), Number.isFinite(holdMs) ? holdMs : 0);
};
