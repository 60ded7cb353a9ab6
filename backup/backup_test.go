package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A manifest is checked before any file is read: a missing manifest, a
// foreign format and a file name that leaves the backup are refused.
func TestReadManifestRefuses(t *testing.T) {
	schema := `{"name":"c","fields":[{"name":"id","type":"INT64","primaryKey":true},{"name":"v","type":"FLOAT_VECTOR","dim":2}]}`
	for _, tc := range []struct{ name, manifest, want string }{
		{"no manifest", "", "no manifest.json"},
		{"foreign format", `{"format":"other/1","collections":[]}`, `format "other/1"`},
		{"no collections", `{"format":"raftvec-backup/1","collections":[]}`, "lists no collections"},
		{"escaping file", `{"format":"raftvec-backup/1","collections":[{"name":"c","schema":` + schema +
			`,"shards":[{"id":1,"file":"../../etc/passwd"}]}]}`, "not a path inside the backup"},
		{"bad schema", `{"format":"raftvec-backup/1","collections":[{"name":"c","schema":{"fields":7}}]}`, "schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(tc.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Verify(context.Background(), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestEmptyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	st := dirStore(dir)
	if err := st.empty(context.Background()); err != nil {
		t.Fatalf("a new directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.empty(context.Background()); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a directory with a file: %v, want a refusal", err)
	}
}

// clear leaves a location empty (a failed backup is cleared, so that the
// same command can run again).
func TestClearEmptiesTheLocation(t *testing.T) {
	dir := t.TempDir()
	st := dirStore(dir)
	w, err := st.create(context.Background(), "c/shard-1.rvb")
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := st.empty(context.Background()); err == nil {
		t.Fatal("a directory holding a shard file counts as empty")
	}
	if err := st.clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.empty(context.Background()); err != nil {
		t.Fatalf("after clear: %v", err)
	}
}
