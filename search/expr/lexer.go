package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tInt
	tFloat
	tString
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tAnd
	tOr
	tNot
	tIn
	tLike
	tIs
	tNull
	tTrue
	tFalse
	tExists
)

// keywords are matched case-insensitively; a field whose name is a keyword
// cannot be referenced.
var keywords = []struct {
	word string
	kind tokKind
}{
	{"and", tAnd}, {"or", tOr}, {"not", tNot}, {"in", tIn}, {"like", tLike},
	{"is", tIs}, {"null", tNull}, {"true", tTrue}, {"false", tFalse}, {"exists", tExists},
}

type token struct {
	kind tokKind
	pos  int    // 1-based byte column of the first byte
	text string // source text
	str  string // value of a string literal
}

// describe names a token for "found ..." in error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIdent:
		return "identifier " + strconv.Quote(clip(t.text))
	case tInt, tFloat:
		return "number " + clip(t.text)
	case tString:
		return "string " + clip(t.text)
	}
	return strconv.Quote(t.text)
}

func clip(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

type lexer struct {
	src string
	off int
}

func isLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func (l *lexer) next() (token, error) {
	for l.off < len(l.src) {
		switch l.src[l.off] {
		case ' ', '\t', '\n', '\r':
			l.off++
			continue
		}
		break
	}
	start := l.off
	tok := func(k tokKind, n int) (token, error) {
		l.off += n
		return token{kind: k, pos: start + 1, text: l.src[start:l.off]}, nil
	}
	if start >= len(l.src) {
		return token{kind: tEOF, pos: start + 1}, nil
	}
	c := l.src[start]
	var c1 byte
	if start+1 < len(l.src) {
		c1 = l.src[start+1]
	}
	switch {
	case isLetter(c) || c == '$' && isLetter(c1):
		// "$" starts only the dynamic field's name, "$meta".
		end := start + 1
		for end < len(l.src) && (isLetter(l.src[end]) || isDigit(l.src[end])) {
			end++
		}
		word := l.src[start:end]
		for _, k := range keywords {
			if strings.EqualFold(word, k.word) {
				return tok(k.kind, end-start)
			}
		}
		return tok(tIdent, end-start)
	case isDigit(c):
		return l.number()
	case c == '"' || c == '\'':
		return l.string()
	}
	switch c {
	case '(':
		return tok(tLParen, 1)
	case ')':
		return tok(tRParen, 1)
	case '[':
		return tok(tLBrack, 1)
	case ']':
		return tok(tRBrack, 1)
	case ',':
		return tok(tComma, 1)
	case '+':
		return tok(tPlus, 1)
	case '-':
		return tok(tMinus, 1)
	case '*':
		return tok(tStar, 1)
	case '/':
		return tok(tSlash, 1)
	case '%':
		return tok(tPercent, 1)
	case '=':
		if c1 == '=' {
			return tok(tEq, 2)
		}
		return token{}, errorf(start+1, `unexpected "=", expected "==" for equality`)
	case '!':
		if c1 == '=' {
			return tok(tNe, 2)
		}
		return tok(tNot, 1)
	case '<':
		if c1 == '=' {
			return tok(tLe, 2)
		}
		return tok(tLt, 1)
	case '>':
		if c1 == '=' {
			return tok(tGe, 2)
		}
		return tok(tGt, 1)
	case '&':
		if c1 == '&' {
			return tok(tAnd, 2)
		}
		return token{}, errorf(start+1, `unexpected "&", expected "&&" or "and"`)
	case '|':
		if c1 == '|' {
			return tok(tOr, 2)
		}
		return token{}, errorf(start+1, `unexpected "|", expected "||" or "or"`)
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	if r == utf8.RuneError {
		return token{}, errorf(start+1, "unexpected byte 0x%02x", c)
	}
	return token{}, errorf(start+1, "unexpected character %s", strconv.Quote(string(r)))
}

// number scans digits ["." digits] [("e"|"E") ["+"|"-"] digits]. The value is
// converted by the parser, which knows whether a minus sign precedes it.
func (l *lexer) number() (token, error) {
	start := l.off
	s := l.src
	i := start
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	kind := tInt
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		kind = tFloat
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			kind = tFloat
			i = j
			for i < len(s) && isDigit(s[i]) {
				i++
			}
		}
	}
	if i < len(s) && (isLetter(s[i]) || isDigit(s[i]) || s[i] == '.') {
		end := i
		for end < len(s) && (isLetter(s[end]) || isDigit(s[end]) || s[end] == '.') {
			end++
		}
		return token{}, errorf(start+1, "invalid number %q", clip(s[start:end]))
	}
	l.off = i
	return token{kind: kind, pos: start + 1, text: s[start:i]}, nil
}

// string scans a '...' or "..." literal. Escapes: \\ \" \' \/ \a \b \f \n \r
// \t \v, \xHH (one byte), \uHHHH and \UHHHHHHHH (a Unicode code point).
func (l *lexer) string() (token, error) {
	start := l.off
	s := l.src
	q := s[start]
	i := start + 1
	var b strings.Builder
	plain := true
	for {
		if i >= len(s) {
			return token{}, errorf(start+1, "unterminated string, expected closing %c before end of input", q)
		}
		c := s[i]
		if c == q {
			break
		}
		if c != '\\' {
			if !plain {
				b.WriteByte(c)
			}
			i++
			continue
		}
		if plain {
			plain = false
			b.WriteString(s[start+1 : i])
		}
		if i+1 >= len(s) {
			return token{}, errorf(start+1, "unterminated string, expected closing %c before end of input", q)
		}
		esc := s[i+1]
		switch esc {
		case '\\', '"', '\'', '/':
			b.WriteByte(esc)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			n := 2
			switch esc {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			v, ok := hexValue(s[i+2 : min(i+2+n, len(s))])
			if !ok || i+2+n > len(s) {
				return token{}, errorf(i+1, `invalid escape \%c in string, expected %d hex digits`, esc, n)
			}
			if esc == 'x' {
				b.WriteByte(byte(v))
			} else {
				if !utf8.ValidRune(rune(v)) {
					return token{}, errorf(i+1, `escape \%s is not a valid Unicode code point`, s[i+1:i+2+n])
				}
				b.WriteRune(rune(v))
			}
			i += n
		default:
			r, _ := utf8.DecodeRuneInString(s[i+1:])
			return token{}, errorf(i+1, `invalid escape \%s in string`, fmtRune(r, esc))
		}
		i += 2
	}
	l.off = i + 1
	t := token{kind: tString, pos: start + 1, text: s[start:l.off]}
	if plain {
		t.str = s[start+1 : i]
	} else {
		t.str = b.String()
	}
	return t, nil
}

func fmtRune(r rune, b byte) string {
	if r == utf8.RuneError {
		return fmt.Sprintf("(byte 0x%02x)", b)
	}
	return string(r)
}

func hexValue(h string) (uint32, bool) {
	var v uint32
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}
