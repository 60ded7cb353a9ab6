package benchutil

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// FashionDir is where the Fashion-MNIST IDX files are: $RAFTVEC_FASHION_MNIST,
// or where Debian's dataset-fashion-mnist package puts them (the same rule
// as index/fashion_bench_test.go).
func FashionDir() string {
	if d := os.Getenv("RAFTVEC_FASHION_MNIST"); d != "" {
		return d
	}
	return "/usr/share/datasets/fashion-mnist"
}

// ReadIDXBytes reads a gzipped IDX3 uint8 image file and returns its rows
// as raw pixel bytes, row after row (rows*dim bytes).
func ReadIDXBytes(path string) (rows, dim int, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	var hdr [16]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return 0, 0, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if magic := binary.BigEndian.Uint32(hdr[:4]); magic != 0x00000803 {
		return 0, 0, nil, fmt.Errorf("%s: magic %#08x is not an IDX3 uint8 file", path, magic)
	}
	rows = int(binary.BigEndian.Uint32(hdr[4:]))
	dim = int(binary.BigEndian.Uint32(hdr[8:]) * binary.BigEndian.Uint32(hdr[12:]))
	data = make([]byte, rows*dim)
	if _, err := io.ReadFull(z, data); err != nil {
		return 0, 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, dim, data, nil
}
