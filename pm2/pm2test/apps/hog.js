// hog.js holds about 64 MiB of memory and stays online.
const hog = Buffer.alloc(64 << 20, 1);
setInterval(() => { hog[0]++; }, 1000);
process.on('SIGINT', () => process.exit(0));
