package pm2test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EnvPM2Bin names the environment variable that points tests at a pm2
// binary.
const EnvPM2Bin = "URAS_PM2_BIN"

// LookPM2 finds a pm2 binary: $URAS_PM2_BIN, else pm2 on PATH, else
// .tools/node_modules/.bin/pm2 in the module root (the nearest directory
// above the working directory holding go.mod), where .ci/run installs it.
func LookPM2() (string, error) {
	if p := os.Getenv(EnvPM2Bin); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", errors.New(EnvPM2Bin + "=" + p + ": " + err.Error())
		}
		return p, nil
	}
	if p, err := exec.LookPath("pm2"); err == nil {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".tools", "node_modules", ".bin", "pm2")
			if _, err := os.Stat(p); err != nil {
				return "", errors.New("pm2 is not on PATH, " + EnvPM2Bin + " is unset, and " + p + " does not exist")
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pm2 is not on PATH and " + EnvPM2Bin + " is unset (no go.mod found above the working directory)")
		}
		dir = parent
	}
}

// FindPM2 returns LookPM2's binary, checking that node is on PATH too.
// When either is missing it fails the test under CI=true and skips it
// otherwise.
func FindPM2(t testing.TB) string {
	t.Helper()
	bin, err := LookPM2()
	if err == nil {
		_, err = exec.LookPath("node")
		if err != nil {
			err = errors.New("node is not on PATH")
		}
	}
	if err != nil {
		msg := "pm2test: real PM2 unavailable: " + err.Error() +
			" (install it with: npm install --prefix .tools pm2@7.0.4, or set " + EnvPM2Bin + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}
