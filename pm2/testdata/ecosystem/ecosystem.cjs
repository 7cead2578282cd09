// A bare array of apps, which PM2 also accepts.
module.exports = [{ name: 'web', script: 'server.js' }, { name: 'api', script: 'api.js' }];
