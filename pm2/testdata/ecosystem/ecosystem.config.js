// An ecosystem file as `pm2 init` writes it.
module.exports = {
  apps: [
    { name: 'web', script: 'server.js', env: { API_TOKEN: 'fake-secret-do-not-leak' } },
    { name: 'api', script: 'api.js', exec_mode: 'cluster_mode', instances: 2 },
  ],
};
