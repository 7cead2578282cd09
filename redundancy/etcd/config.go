package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/uras-dev/uras/internal/fsutil"
)

// maxPEMSize bounds what is read of a CA, certificate or key file.
const maxPEMSize = 1 << 20

// DefaultDialTimeout bounds connecting to etcd when Config says nothing.
const DefaultDialTimeout = 5 * time.Second

// Cluster is the cluster section of a monitor's configuration:
//
//	cluster:
//	  name: web            # the group: monitors with the same name elect one leader
//	  lease_ttl: 10s       # a crashed leader is replaced within this
//	  etcd:
//	    endpoints: [https://etcd-1:2379, https://etcd-2:2379]
//	    tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem}
//
// A configuration without it runs one monitor, as before.
type Cluster struct {
	// Name is the group's name; required.
	Name string `yaml:"name"`
	// ID names this monitor in the group, as Leader reports it (default:
	// the host name; give one to run two monitors of a group on a host).
	ID string `yaml:"id"`
	// LeaseTTL is the session's lease (default DefaultTTL; at least MinTTL).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Etcd says how to reach etcd.
	Etcd Config `yaml:"etcd"`
}

// Validate names what is wrong with c.
func (c Cluster) Validate() error {
	var errs []error
	if err := checkName("cluster.name", c.Name); err != nil {
		errs = append(errs, err)
	}
	if c.ID != "" && (strings.TrimSpace(c.ID) != c.ID || len(c.ID) > 256) {
		errs = append(errs, fmt.Errorf("etcd: cluster.id %q: want an unpadded name of at most 256 bytes", c.ID))
	}
	if c.LeaseTTL != 0 && c.LeaseTTL < MinTTL {
		errs = append(errs, fmt.Errorf("etcd: cluster.lease_ttl %s: at least %s", c.LeaseTTL, MinTTL))
	}
	if err := c.Etcd.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Replica returns this monitor's name in the group: c.ID, else the host
// name.
func (c Cluster) Replica() (string, error) {
	if c.ID != "" {
		return c.ID, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("etcd: cluster.id is not set and the host name is unknown: %w", err)
	}
	return host, nil
}

// Config is how to reach etcd.
type Config struct {
	// Endpoints are the members' client URLs ("https://10.0.0.1:2379"); required.
	Endpoints []string `yaml:"endpoints"`
	// DialTimeout bounds the first connection (default DefaultDialTimeout).
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Username for etcd's authentication; Password comes from the caller
	// (the environment variable PasswordVar names, which the launcher
	// reads), never from the file.
	Username string `yaml:"username"`
	Password string `yaml:"-"`
	// PasswordEnv names the environment variable holding the password
	// (default DefaultPasswordEnv when Username is set).
	PasswordEnv string `yaml:"password_env"`
	// TLS, for https endpoints.
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig names the PEM files of a TLS connection to etcd.
type TLSConfig struct {
	// CAFile verifies the servers (default: the system's roots).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile authenticate this client (both or neither).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the servers' certificates.
	ServerName string `yaml:"server_name"`
}

func (t TLSConfig) set() bool { return t != TLSConfig{} }

// DefaultPasswordEnv holds etcd's password when Config.PasswordEnv names
// no other variable.
const DefaultPasswordEnv = "URAS_ETCD_PASSWORD"

// PasswordVar returns the name of the environment variable that holds the
// password: PasswordEnv, else DefaultPasswordEnv when a Username is set,
// else "" (no authentication).
func (c Config) PasswordVar() string {
	switch {
	case c.PasswordEnv != "":
		return c.PasswordEnv
	case c.Username != "":
		return DefaultPasswordEnv
	}
	return ""
}

// Validate names what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("etcd: etcd.endpoints is empty"))
	}
	for i, ep := range c.Endpoints {
		u, err := url.Parse(ep)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("etcd: etcd.endpoints[%d] %q: %w", i, ep, err))
		case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "unix" && u.Scheme != "unixs":
			errs = append(errs, fmt.Errorf("etcd: etcd.endpoints[%d] %q: want an http, https or unix URL", i, ep))
		case u.User != nil:
			errs = append(errs, fmt.Errorf("etcd: etcd.endpoints[%d]: credentials in the URL (use username and the password option)", i))
		}
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("etcd: etcd.dial_timeout %s is negative", c.DialTimeout))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("etcd: etcd.tls: cert_file and key_file go together"))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("etcd: a password without etcd.username"))
	}
	if c.PasswordEnv != "" && c.Username == "" {
		errs = append(errs, fmt.Errorf("etcd: etcd.password_env %q without etcd.username", c.PasswordEnv))
	}
	return errors.Join(errs...)
}

// Client connects to etcd. The client logs nothing (its zap logger is a
// no-op); ctx bounds the connection's life: when it ends the client stops
// (Close it when done either way).
func (c Config) Client(ctx context.Context) (*clientv3.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cfg := clientv3.Config{
		Endpoints:   c.Endpoints,
		DialTimeout: c.DialTimeout,
		Username:    c.Username,
		Password:    c.Password,
		Context:     ctx,
		Logger:      zap.NewNop(),
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	secure := c.TLS.set()
	for _, ep := range c.Endpoints {
		secure = secure || strings.HasPrefix(ep, "https://") || strings.HasPrefix(ep, "unixs://")
	}
	if secure {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(c.Endpoints, ","), err)
	}
	return cli, nil
}

func (t TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := fsutil.ReadFile(t.CAFile, maxPEMSize)
		if err != nil {
			return nil, fmt.Errorf("etcd: etcd.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd: etcd.tls.ca_file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		certPEM, err := fsutil.ReadFile(t.CertFile, maxPEMSize)
		if err != nil {
			return nil, fmt.Errorf("etcd: etcd.tls.cert_file: %w", err)
		}
		keyPEM, err := fsutil.ReadFile(t.KeyFile, maxPEMSize)
		if err != nil {
			return nil, fmt.Errorf("etcd: etcd.tls.key_file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("etcd: etcd.tls cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Open connects to c.Etcd and returns the elector of replica id in group
// c.Name with lease c.LeaseTTL (opts may add others). The elector owns the
// connection: Close closes it (its term, if any, is not resigned: resign
// first, or let Run do it). ctx bounds the connection's life.
func Open(ctx context.Context, c Cluster, id string, opts ...Option) (*Elector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cli, err := c.Etcd.Client(ctx)
	if err != nil {
		return nil, err
	}
	if c.LeaseTTL > 0 {
		opts = append([]Option{WithTTL(c.LeaseTTL)}, opts...)
	}
	e, err := NewElector(cli, c.Name, id, opts...)
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	e.owned = true
	return e, nil
}
