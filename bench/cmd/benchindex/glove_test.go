package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The package's layout: words in order, each vector followed by its norm
// and the word's index; zero vectors are left out.
func TestLoadGlove(t *testing.T) {
	js := `{"dimensions":2,"words":["a","b","zero","c"],"vectors":{"a":[3,4,5,0],"b":[0,2,2,1],"zero":[0,0,0,2],"c":[1,0,1,3]}}`
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{{"package/package.json", "{}"}, {"package/v.json", js}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	path := filepath.Join(t.TempDir(), gloveFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := loadGlove(path, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ds.dim != 2 || ds.n != 2 || ds.nq != 1 || len(ds.base) != 4 || len(ds.queries) != 2 || len(ds.truth[0]) != 2 {
		t.Fatalf("dataset: dim %d, n %d, nq %d, base %v, queries %v, truth %v", ds.dim, ds.n, ds.nq, ds.base, ds.queries, ds.truth)
	}
	for i := 0; i < 6; i += 2 {
		v := append(append([]float32(nil), ds.base...), ds.queries...)[i : i+2]
		if n := v[0]*v[0] + v[1]*v[1]; n < 0.999 || n > 1.001 {
			t.Fatalf("row %v is not normalised", v)
		}
	}
	if _, err := loadGlove(path, 3, 1); err == nil || !strings.Contains(err.Error(), "3 usable vectors") {
		t.Fatalf("asking for more rows than there are: %v", err)
	}
}
