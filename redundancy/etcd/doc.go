// Package etcd runs several uras monitors as one group on etcd: an
// Elector (sessions with a lease, etcd's election recipe from
// go.etcd.io/etcd/client/v3/concurrency) for redundancy.WithElection, and
// a Store whose writes are transactions guarded by the leader's key
// revision, so that a deposed leader can neither overwrite its successor's
// state nor act.
//
// Every monitor watches every target; only the leader repairs the shared
// ones (redundancy.Target.Shared: GitHub, Netlify), and each host repairs
// its own local targets (PM2). Only programs that import this package
// compile the etcd client.
//
// To start:
//
//	el, err := etcd.Open(ctx, cfg.Cluster, hostname) // the cluster: section (Cluster)
//	defer el.Close()
//	o := redundancy.New(redundancy.WithElection(redundancy.Election{Elector: el, Store: el.Store()}))
//	o.Add(redundancy.Target{Name: "ci", Shared: true, ...})
//
// Each orchestrator that runs shared targets campaigns on an elector of
// its own: with one orchestrator per system, give each el.Part("github"),
// el.Part("netlify"), ... (groups "<name>.github", ...) on the one
// connection. A launcher does all of it with Join, which is nil-safe for
// a file without a cluster section:
//
//	cluster, err := etcd.Join(ctx, cfg.Cluster, b.Secret, "github", "netlify")
//	o := redundancy.New(append(b.Options("github"), cluster.Options("github")...)...)
//
// With a client of your own, NewElector(cli, group, id, WithTTL(...)).
//
// Give el.Store() to the providers of shared targets too (netlify.KnownGood)
// so that their records are shared and fenced the same way. Package
// etcdtest embeds an etcd server for tests.
package etcd
