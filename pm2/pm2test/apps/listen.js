// listen.js listens on 127.0.0.1 at the port in argv[2]. When argv[3] names
// a file that exists, it deletes the file and closes its listener after
// 300ms but stays alive: PM2 says online while the port is closed. A port
// already taken crashes it with EADDRINUSE (Node prints the error on
// stderr, which PM2 writes to the error log).
const net = require('net');
const fs = require('fs');
const port = Number(process.argv[2]);
const marker = process.argv[3];
const srv = net.createServer((c) => c.end());
srv.listen(port, '127.0.0.1');
if (marker && fs.existsSync(marker)) {
  fs.unlinkSync(marker);
  setTimeout(() => srv.close(), 300);
}
setInterval(() => {}, 1 << 30);
process.on('SIGINT', () => process.exit(0));
