package expr

import (
	"strings"
	"unicode/utf8"
)

// likeMatcher matches a like pattern: % is any sequence of characters
// (including none), _ is exactly one character (a UTF-8 code point), a
// backslash makes the next character literal (\% \_ \\). Everything else
// matches itself, byte for byte, case-sensitively. Common shapes get a
// direct string function.
type likeMatcher struct {
	kind  likeKind
	lit   string     // exact, prefix, suffix, contains
	items []likeItem // general
}

type likeKind uint8

const (
	likeExact likeKind = iota
	likePrefix
	likeSuffix
	likeContains
	likeAny // only % signs: every non-null string
	likeGeneral
)

type likeItem struct {
	kind byte // 'L' literal, '_' one character, '%' any sequence
	lit  string
}

// compileLike parses a pattern; the error message is for an *Error.
func compileLike(pat string) (*likeMatcher, string) {
	var items []likeItem
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			items = append(items, likeItem{kind: 'L', lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '\\':
			if i+1 == len(pat) {
				return nil, "like pattern ends with an escape character \\, expected a character after it"
			}
			_, n := utf8.DecodeRuneInString(pat[i+1:])
			lit.WriteString(pat[i+1 : i+1+n])
			i += n
		case '%':
			flush()
			if len(items) == 0 || items[len(items)-1].kind != '%' {
				items = append(items, likeItem{kind: '%'})
			}
		case '_':
			flush()
			items = append(items, likeItem{kind: '_'})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	m := &likeMatcher{kind: likeGeneral, items: items}
	isLit := func(i int) bool { return i >= 0 && i < len(items) && items[i].kind == 'L' }
	isAny := func(i int) bool { return i >= 0 && i < len(items) && items[i].kind == '%' }
	switch n := len(items); {
	case n == 0:
		m.kind = likeExact
	case n == 1 && isLit(0):
		m.kind, m.lit = likeExact, items[0].lit
	case n == 1 && isAny(0):
		m.kind = likeAny
	case n == 2 && isLit(0) && isAny(1):
		m.kind, m.lit = likePrefix, items[0].lit
	case n == 2 && isAny(0) && isLit(1):
		m.kind, m.lit = likeSuffix, items[1].lit
	case n == 3 && isAny(0) && isLit(1) && isAny(2):
		m.kind, m.lit = likeContains, items[1].lit
	}
	return m, ""
}

func (m *likeMatcher) match(s string) bool {
	switch m.kind {
	case likeExact:
		return s == m.lit
	case likePrefix:
		return strings.HasPrefix(s, m.lit)
	case likeSuffix:
		return strings.HasSuffix(s, m.lit)
	case likeContains:
		return strings.Contains(s, m.lit)
	case likeAny:
		return true
	}
	return matchItems(m.items, s)
}

// matchItems is the classic wildcard match with backtracking to the last %
// only, which is enough because a later % can absorb whatever an earlier
// one would have. O(len(s) * len(items)) in the worst case.
func matchItems(items []likeItem, s string) bool {
	p, i := 0, 0
	star, starI := -1, 0
	for {
		if p < len(items) {
			switch it := items[p]; it.kind {
			case '%':
				star, starI = p, i
				p++
				continue
			case '_':
				if i < len(s) {
					_, n := utf8.DecodeRuneInString(s[i:])
					i += n
					p++
					continue
				}
			default:
				if strings.HasPrefix(s[i:], it.lit) {
					i += len(it.lit)
					p++
					continue
				}
			}
		} else if i == len(s) {
			return true
		}
		if star < 0 || starI >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starI:])
		starI += n
		p, i = star+1, starI
	}
}
