package sqlstoretest

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// A copy a test changed is put back as the template holds it, rows and
// sequences, and the next test gets it; one whose schema the test changed
// is dropped, and the next test gets a new copy.
func TestPostgresCopy_PutBackAsTheTemplateHoldsIt(t *testing.T) {
	ctx := context.Background()
	template := Template(t, "spares", func(url string) error {
		return run(ctx, url, `CREATE TABLE note (id bigserial PRIMARY KEY, text text NOT NULL);
			CREATE TABLE tag (note bigint NOT NULL REFERENCES note, tag text NOT NULL);
			INSERT INTO note (text) VALUES ('kept'), ('kept too');
			INSERT INTO tag VALUES (1, 'first')`)
	})
	const holds = `SELECT (SELECT string_agg(id || ' ' || text, ', ' ORDER BY id) FROM note)
		|| ' / ' || (SELECT string_agg(note || ' ' || tag, ', ') FROM tag)`
	const asMade = "1 kept, 2 kept too / 1 first"

	var first string
	t.Run("changes its rows", func(t *testing.T) {
		url := PostgresCopy(t, template)
		first = databaseOf(t, url)
		must(t, run(ctx, url, `DELETE FROM tag; DELETE FROM note WHERE id = 1;
			INSERT INTO note (text) VALUES ('new'), ('newer'); INSERT INTO tag VALUES (4, 'second')`))
	})
	t.Run("gets it back as made", func(t *testing.T) {
		url := PostgresCopy(t, template)
		if got := databaseOf(t, url); got != first {
			t.Errorf("copy %s, not the one put back, %s", got, first)
		}
		if got := query(t, url, holds); got != asMade {
			t.Errorf("holds %q, want %q", got, asMade)
		}
		must(t, run(ctx, url, `INSERT INTO note (text) VALUES ('third')`))
		if got := query(t, url, `SELECT max(id)::text FROM note`); got != "3" {
			t.Errorf("next id %s, want 3: the sequence is not as made", got)
		}
		must(t, run(ctx, url, `CREATE INDEX note_text ON note (text)`))
	})
	t.Run("gets a new copy once the schema changed", func(t *testing.T) {
		url := PostgresCopy(t, template)
		if got := databaseOf(t, url); got == first {
			t.Errorf("got the copy whose schema a test changed, %s", got)
		}
		if got := query(t, url, holds); got != asMade {
			t.Errorf("holds %q, want %q", got, asMade)
		}
		if got := query(t, postgresURL(t, "", ""), `SELECT count(*)::text FROM pg_database WHERE datname = '`+first+`'`); got != "0" {
			t.Errorf("the copy whose schema changed was not dropped")
		}
	})
}

// run runs statements in the database at url.
func run(ctx context.Context, url, statements string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, statements)
	return err
}

// query reads one text value from the database at url.
func query(t *testing.T, url, q string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	var v string
	must(t, conn.QueryRow(ctx, q).Scan(&v))
	return v
}

// databaseOf is the name of the database a URL names.
func databaseOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	must(t, err)
	return u.Path[1:]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
