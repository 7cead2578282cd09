// up.js stays online until it is stopped: a minimal long-running app.
setInterval(() => {}, 1 << 30);
process.on('SIGINT', () => process.exit(0));
