// Package expr owns the filter expression language of raftvec: the lexer,
// the parser and its syntax tree, the type checker, and the column-wise
// evaluator that turns a filter into an allow-bitset for one segment.
//
// It does not own schemas, segments, scalar indexes or query planning: the
// caller adapts its collection schema to Schema and its segments to Columns,
// and combines the resulting Bitset with visibility (MVCC) itself. It
// imports only the standard library.
//
// # Use
//
//	prog, err := expr.Compile(`price < 100 and meta["color"] == "red"`, schema)
//	// err is an *expr.Error with the byte position and what was expected
//	var allow expr.Bitset
//	err = prog.Eval(segmentColumns, &allow)
//
// A Program is immutable and may be shared by goroutines evaluating
// different segments.
//
// # Grammar
//
// In EBNF (docs/filter-expressions.md has the same with examples):
//
//	Filter    = OrExpr .
//	OrExpr    = AndExpr { ( "or" | "||" ) AndExpr } .
//	AndExpr   = NotExpr { ( "and" | "&&" ) NotExpr } .
//	NotExpr   = ( "not" | "!" ) NotExpr | "exists" Unary | Predicate .
//	Predicate = Sum [ CompareOp Sum
//	                | [ "not" ] "in" List
//	                | [ "not" ] "like" string
//	                | "is" [ "not" ] "null" ] .
//	CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" .
//	Sum       = Product { ( "+" | "-" ) Product } .
//	Product   = Unary { ( "*" | "/" | "%" ) Unary } .
//	Unary     = "-" Unary | Primary .
//	Primary   = Literal | FieldRef | "(" OrExpr ")" .
//	FieldRef  = identifier { "[" ( string | int ) "]" } .
//	List      = "[" [ Item { "," Item } [ "," ] ] "]" .
//	Item      = [ "-" ] ( int | float ) | string | "true" | "false" .
//	Literal   = int | float | string | "true" | "false" .
//
//	identifier = ( letter | "_" | "$" ) { letter | digit | "_" } .   (ASCII; "$" only starts "$meta")
//	int        = digit { digit } .
//	float      = digit { digit } ( "." digit { digit } [ exponent ] | exponent ) .
//	exponent   = ( "e" | "E" ) [ "+" | "-" ] digit { digit } .
//	string     = '"' { char | escape } '"' | "'" { char | escape } "'" .
//	escape     = `\` ( `\` | '"' | "'" | "/" | "a" | "b" | "f" | "n" | "r" | "t" | "v" )
//	           | `\x` hex hex | `\u` hex*4 | `\U` hex*8 .
//
// Keywords (and, or, not, in, like, is, null, true, false) are
// case-insensitive; field names are case-sensitive, and a field whose name
// is a keyword cannot be referenced. Precedence, loosest first: or, and,
// not, predicates (comparisons, in, like, is null; they do not chain),
// + -, * / %, unary minus. Note that "!" is "not", so "!a == b" means
// "not (a == b)". Whitespace is space, tab, CR and LF.
//
// # Types
//
// Fields have the types of the schema: bool, int64, double, varchar, JSON.
// The float vector field cannot be used. Arithmetic needs numbers: int64
// with int64 is int64, any double makes the result double. Comparisons need
// two numbers (int64 and double compare exactly, without rounding), two
// strings (byte-wise order), or two bools (== and != only). "like" needs a
// varchar or JSON value. "in" list elements must be comparable with the left
// side; ints and doubles mix (2 and 2.0 are the same element). Any
// expression may be tested with "is null". A JSON value (meta["a"]["b"],
// meta["tags"][0], or a JSON field alone for the whole document) has its type
// decided per row, so it passes the checker wherever a value may appear;
// on its own as a condition, JSON true and false count as true and false.
//
// # Nulls: three-valued logic
//
// Every condition is true, false or unknown, as in SQL. A comparison, "in"
// or "like" whose operand is null is unknown; so is one whose JSON operand
// has a kind it cannot be compared with (a number with a string, an object,
// an array, a missing key, JSON null). "not" of unknown is unknown, so
// "not (x == 1)" matches neither the rows where x is 1 nor those where x is
// null. "a and b" is true when both sides are true, false when either is false,
// and unknown otherwise; "a or b" is false when both are false, true when
// either is true, and unknown otherwise. "is
// null" and "is not null" are never unknown. A row passes the filter only
// when the filter is true.
//
// Integer overflow, division or remainder by zero, and arithmetic on
// non-numeric JSON values give null, so the row fails the comparison it is
// part of (and its negation) instead of panicking or wrapping.
//
// # like
//
// "%" matches any sequence of characters, "_" exactly one character (a UTF-8
// code point); a backslash makes the next character literal, so match a
// percent sign with "\\%" in a double-quoted string (the string literal
// consumes one backslash). Matching is case-sensitive. Prefix ("ab%"),
// suffix ("%ab"), infix ("%ab%") and exact patterns use direct string
// functions; other patterns a backtracking matcher.
//
// # Limits
//
// MaxLength bytes of expression, MaxDepth levels of nesting, MaxListLen
// elements per "in" list. Errors name the limit.
//
// # Evaluation
//
// Program.Eval reads each referenced column once from Columns and evaluates
// batches of 4096 rows column-wise: comparisons of a column with a constant
// run as tight loops that produce 64 rows per bitmap word; "and" and "or"
// only evaluate their later terms on rows still undecided, so an expensive
// term (JSON, like) is skipped for rows an earlier term already decided.
// JSON is read lazily, per row that needs it: the text is checked with
// json.Valid, the path is followed by skipping over the values not on it,
// and only the value found is decoded (escaped strings with json.Unmarshal).
// Invalid JSON text reads as null.
package expr
