// Package etcdtest runs a real etcd server inside the test (or demo)
// process: go.etcd.io/etcd/server/v3/embed, the same release as the
// client, listening on loopback ports the kernel picks, with its data in
// a directory the caller owns. Nothing is left running once Close returns.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/uras-dev/uras/redundancy/etcd"
)

// StartTimeout bounds how long New waits for the server to be ready.
const StartTimeout = 30 * time.Second

// Server is an embedded single-member etcd cluster.
type Server struct {
	e         *embed.Etcd
	endpoints []string
}

// New starts a server keeping its data in dir (which must exist and be
// empty or hold an earlier server's data). Its heartbeat is 10ms and its
// election timeout 100ms, so it is ready at once, and fsync is off: a
// server for tests, not for data.
func New(dir string) (*Server, error) {
	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.UnsafeNoFsync = true
	lc, _ := url.Parse("http://127.0.0.1:0")
	lp, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*lc}, []url.URL{*lc}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*lp}, []url.URL{*lp}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: start: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcdtest: start: %w", err)
	case <-time.After(StartTimeout):
		e.Server.Stop()
		e.Close()
		return nil, errors.New("etcdtest: start: the server was not ready in time")
	}
	s := &Server{e: e}
	for _, l := range e.Clients {
		s.endpoints = append(s.endpoints, "http://"+l.Addr().String())
	}
	return s, nil
}

// Endpoints returns the client URLs.
func (s *Server) Endpoints() []string { return append([]string(nil), s.endpoints...) }

// Config returns an etcd.Config for the server.
func (s *Server) Config() etcd.Config { return etcd.Config{Endpoints: s.Endpoints()} }

// Client returns a client of the server that lives until ctx ends or it is
// closed: cancelling ctx cuts the client off, as if its process had died
// (its leases are not revoked; they expire).
func (s *Server) Client(ctx context.Context) (*clientv3.Client, error) {
	return s.Config().Client(ctx)
}

// Close stops the server and waits for it.
func (s *Server) Close() { s.e.Close() }
