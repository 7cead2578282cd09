// chatty.js writes numbered lines to stdout (its out log) until it is stopped.
let n = 0;
setInterval(() => { console.log(`line ${++n}`); }, 5);
