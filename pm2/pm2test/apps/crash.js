// crash.js exits with status 3 shortly after it starts, so PM2 restarts it
// until max_restarts and then marks it errored.
setTimeout(() => process.exit(3), 100);
