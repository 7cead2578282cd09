//go:build !unix

package pm2

const noFollow = 0
