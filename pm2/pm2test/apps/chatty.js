// chatty.js writes numbered lines to its out log until it is stopped:
// "line 1", "line 2", ... so a test can tell whether any line was lost.
let n = 0;
setInterval(() => { console.log(`line ${++n}`); }, 2);
process.on('SIGINT', () => process.exit(0));
