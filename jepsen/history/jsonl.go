package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Writer writes values as JSON lines, one object per line.
type Writer struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

// NewWriter returns a Writer on w. Call Flush before closing w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	return &Writer{bw: bw, enc: json.NewEncoder(bw)}
}

// Write appends one value as a line.
func (w *Writer) Write(v any) error {
	// json.Encoder terminates each value with '\n'.
	return w.enc.Encode(v)
}

// Flush writes buffered lines to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Write writes ops as JSON lines.
func Write(w io.Writer, ops []Op) error { return writeAll(w, ops) }

// Read reads ops written by Write.
func Read(r io.Reader) ([]Op, error) { return readAll[Op](r) }

// WriteNemesis writes nemesis events as JSON lines.
func WriteNemesis(w io.Writer, evs []NemesisEvent) error { return writeAll(w, evs) }

// ReadNemesis reads events written by WriteNemesis.
func ReadNemesis(r io.Reader) ([]NemesisEvent, error) { return readAll[NemesisEvent](r) }

// WriteFile writes ops to path (history.jsonl) through a synced temporary
// file and a rename, so a reader never sees half a history.
func WriteFile(path string, ops []Op) error {
	return writeFile(path, func(w io.Writer) error { return Write(w, ops) })
}

// ReadFile reads a history file.
func ReadFile(path string) ([]Op, error) { return readFile(path, Read) }

// WriteNemesisFile writes the nemesis timeline (nemesis.jsonl).
func WriteNemesisFile(path string, evs []NemesisEvent) error {
	return writeFile(path, func(w io.Writer) error { return WriteNemesis(w, evs) })
}

// ReadNemesisFile reads a nemesis timeline file.
func ReadNemesisFile(path string) ([]NemesisEvent, error) { return readFile(path, ReadNemesis) }

func writeAll[T any](w io.Writer, items []T) error {
	jw := NewWriter(w)
	for i := range items {
		if err := jw.Write(items[i]); err != nil {
			return fmt.Errorf("write line %d: %w", i+1, err)
		}
	}
	return jw.Flush()
}

func readAll[T any](r io.Reader) ([]T, error) {
	br := bufio.NewReader(r)
	var out []T
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var v T
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if derr := dec.Decode(&v); derr != nil {
				return out, fmt.Errorf("line %d: %w", line, derr)
			}
			out = append(out, v)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func readFile[T any](path string, read func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := read(f)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}
