package pm2_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

func kg(at time.Time, names ...string) pm2.KnownGood {
	k := pm2.KnownGood{Time: at}
	for _, n := range names {
		k.Apps = append(k.Apps, pm2.AppDefinition{Name: n, Script: "/srv/" + n + ".js", Instances: 1})
	}
	return k
}

func TestKnownGoodListHistory(t *testing.T) {
	t.Parallel()
	fileStore, err := redundancy.NewFileStore(t.TempDir())
	require.NoError(t, err)
	for name, store := range map[string]redundancy.Store{"memory": redundancy.NewMemoryStore(), "file": fileStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := pm2.NewKnownGoodList(store, "/srv/app/.pm2", 3)
			_, err := l.Latest(ctx)
			require.ErrorIs(t, err, pm2.ErrNoKnownGood)

			added, err := l.Record(ctx, kg(t0, "web"))
			require.NoError(t, err)
			assert.True(t, added)
			added, err = l.Record(ctx, kg(t0.Add(time.Minute), "web"))
			require.NoError(t, err)
			assert.False(t, added, "the same list is not a new version")
			for i, names := range [][]string{{"web", "api"}, {"api", "web", "worker"}, {"web", "api", "worker", "cron"}} {
				added, err := l.Record(ctx, kg(t0.Add(time.Duration(i+2)*time.Minute), names...))
				require.NoError(t, err)
				assert.True(t, added)
			}
			hist, err := l.History(ctx)
			require.NoError(t, err)
			require.Len(t, hist, 3, "at most keep versions")
			assert.Equal(t, []string{"web", "api", "worker", "cron"}, hist[0].Names())
			assert.Equal(t, []string{"web", "api"}, hist[2].Names())
			assert.Equal(t, "/srv/app/.pm2", hist[0].Home)

			// The same home spelt differently is the same list.
			latest, err := pm2.NewKnownGoodList(store, "/srv/app/.pm2/", 3).Latest(ctx)
			require.NoError(t, err)
			assert.Equal(t, hist[0].Names(), latest.Names())

			require.NoError(t, l.Forget(ctx, t0.Add(time.Hour), "cron"))
			latest, err = l.Latest(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{"web", "api", "worker"}, latest.Names())
			assert.Equal(t, t0.Add(time.Hour), latest.Time)

			// Another home has its own list.
			_, err = pm2.NewKnownGoodList(store, "/srv/other/.pm2", 3).Latest(ctx)
			require.ErrorIs(t, err, pm2.ErrNoKnownGood)
		})
	}
}

func TestKnownGoodListRefusesAndRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := redundancy.NewMemoryStore()
	l := pm2.NewKnownGoodList(store, "/h", 0)
	_, err := l.Record(ctx, kg(time.Time{}, "web"))
	require.ErrorContains(t, err, "needs its time")
	_, err = l.Record(ctx, pm2.KnownGood{Time: t0, Apps: []pm2.AppDefinition{{}}})
	require.ErrorContains(t, err, "without a name")

	// A record that does not decode is an error, set aside by the next
	// Record rather than lost.
	_, err = l.Record(ctx, kg(t0, "web"))
	require.NoError(t, err)
	key := l.Key()
	assert.Regexp(t, `^pm2/[0-9a-f]{16}/known-good$`, key)
	require.NoError(t, store.Save(ctx, key, []byte(`{"home":"/h","versions":[{`)))
	_, err = l.Latest(ctx)
	require.Error(t, err)
	require.NotErrorIs(t, err, pm2.ErrNoKnownGood)
	_, err = l.Record(ctx, kg(t0, "api"))
	require.NoError(t, err)
	aside, err := store.Load(ctx, key+"-corrupt")
	require.NoError(t, err)
	assert.Equal(t, `{"home":"/h","versions":[{`, string(aside))
	latest, err := l.Latest(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"api"}, latest.Names())

	// A store that fails: the error says so.
	_, err = pm2.NewKnownGoodList(failingStore{}, "/h", 0).Record(ctx, kg(t0, "web"))
	require.ErrorContains(t, err, "pm2: known-good list")
}

type failingStore struct{}

func (failingStore) Load(context.Context, string) ([]byte, error) { return nil, redundancy.ErrNoRecord }
func (failingStore) Save(context.Context, string, []byte) error   { return errors.New("disk full") }
