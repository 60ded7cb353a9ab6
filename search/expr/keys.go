package expr

// Keys reports whether the filter is exactly a primary-key lookup,
// "pk == v" or "pk in [v, ...]" on the field marked PrimaryKey, and if so
// returns the keys without duplicates, in the order written: ints for an
// int64 key, strs for a varchar key. Such a filter can be served by the
// pk → row maps (the Get path) instead of scanning columns, and delete by
// expression needs no read at all. An empty list gives ok with no keys.
func (p *Program) Keys() (ints []int64, strs []string, ok bool) {
	return p.keys.ints, p.keys.strs, p.keys.ok
}

type keyList struct {
	ints []int64
	strs []string
	ok   bool
}

func primaryKeys(root Node, schema Schema) keyList {
	var ref Node
	var list []*Literal
	switch n := root.(type) {
	case *In:
		if n.Negated {
			return keyList{}
		}
		ref, list = n.X, n.List
	case *Binary:
		if n.Op != OpEq {
			return keyList{}
		}
		ref = n.X
		l, isLit := n.Y.(*Literal)
		if !isLit {
			ref = n.Y
			l, isLit = n.X.(*Literal)
		}
		if !isLit {
			return keyList{}
		}
		list = []*Literal{l}
	default:
		return keyList{}
	}
	f, isRef := ref.(*FieldRef)
	if !isRef || len(f.Path) > 0 {
		return keyList{}
	}
	field, found := schema.Field(f.Name)
	if !found || !field.PrimaryKey {
		return keyList{}
	}
	k := keyList{ok: true}
	switch field.Type {
	case Int64:
		seen := map[int64]bool{}
		for _, l := range list {
			var v int64
			switch x := l.Value.(type) {
			case int64:
				v = x
			case float64:
				i, exact := exactInt(x)
				if !exact {
					continue // 2.5 matches no int64 key
				}
				v = i
			default:
				return keyList{}
			}
			if !seen[v] {
				seen[v] = true
				k.ints = append(k.ints, v)
			}
		}
	case VarChar:
		seen := map[string]bool{}
		for _, l := range list {
			v, isStr := l.Value.(string)
			if !isStr {
				return keyList{}
			}
			if !seen[v] {
				seen[v] = true
				k.strs = append(k.strs, v)
			}
		}
	default:
		return keyList{}
	}
	return k
}
