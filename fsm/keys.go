package fsm

import "encoding/binary"

// Badger key layout of a shard replica. One byte of prefix, then fixed-width
// big-endian numbers so that iteration order is numeric order.
//
//	m:applied            Applied (index, ts, counters) — written with every entry
//	m:schema             CreateCollection op (schema and seal threshold)
//	m:segments           the segment manifest
//	m:dropped            present once the collection is dropped
//	b<seg:8><row:4>      Block: the rows one op added to one segment
//	x<ts:8>              Deletes: the rows one op deleted
//	q<request id>        Result of a request, for dedup
var (
	keyApplied  = []byte("m:applied")
	keySchema   = []byte("m:schema")
	keySegments = []byte("m:segments")
	keyDropped  = []byte("m:dropped")
)

const (
	prefixBlock   = 'b'
	prefixDeletes = 'x'
	prefixDedup   = 'q'
)

func blockKey(seg uint64, row uint32) []byte {
	k := make([]byte, 13)
	k[0] = prefixBlock
	binary.BigEndian.PutUint64(k[1:], seg)
	binary.BigEndian.PutUint32(k[9:], row)
	return k
}

func deletesKey(ts uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixDeletes
	binary.BigEndian.PutUint64(k[1:], ts)
	return k
}

func dedupKey(id string) []byte { return append([]byte{prefixDedup}, id...) }
