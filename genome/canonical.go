package genome

import (
	"bytes"
	"encoding/json"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// canonicalJSON returns the canonical form of the JSON value raw: the form a
// genome's fallback value takes when it is decoded, in [Genome.MarshalJSON]
// and so in [Genome.Digest]. Two JSON texts that encoding/json decodes alike
// have the same canonical form, whatever their whitespace, key order,
// duplicate keys (the last one wins, as in decoding), string escapes or
// number spelling.
//
// The form is that of the JSON Canonicalization Scheme (RFC 8785): no
// whitespace; object keys sorted by their UTF-16 code units; strings with
// only '"', '\\' and control characters escaped (\b, \t, \n, \f, \r, or
// \u00xx in lower case) and everything else, '<', '>', '&', U+2028 and
// U+2029 included, written as UTF-8; invalid UTF-8 and unpaired surrogates
// replaced by U+FFFD, as encoding/json does when it decodes; numbers laid out
// as ECMAScript writes them ("100", "0.5", "1e+21", "1e-7", "0" for -0). One
// difference: RFC 8785 first rounds a number to the nearest IEEE 754 double
// (9007199254740993 to 9007199254740992); canonicalJSON keeps every
// significant digit, as encoding/json does when it decodes the value into an
// integer or a json.Number: canonicalization never rounds a number. For a
// number that is the shortest spelling of a double the output is RFC 8785's.
func canonicalJSON(raw []byte) ([]byte, error) {
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return nil, err // the scanner's message, which names the offending byte
	}
	d := json.NewDecoder(&c)
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	writeCanonical(&b, v)
	return b.Bytes(), nil
}

// canonicalOrSelf returns the canonical form of raw, or raw itself when it is
// not valid JSON (which Validate rejects).
func canonicalOrSelf(raw []byte) []byte {
	if len(raw) == 0 {
		return raw
	}
	if c, err := canonicalJSON(raw); err == nil {
		return c
	}
	return raw
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(canonicalNumber(string(v)))
	case string:
		writeString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	}
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 sorts
// object keys. It differs from byte order only where a character above
// U+FFFF meets one in U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return cmpInt(utf16Unit(ra), utf16Unit(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return cmpInt(len(a), len(b))
}

// utf16Unit returns the first UTF-16 code unit of r.
func utf16Unit(r rune) int {
	if hi, _ := utf16.EncodeRune(r); hi != utf8.RuneError {
		return int(hi)
	}
	return int(r)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeString writes s as a canonical JSON string: '"', '\\' and control
// characters escaped, everything else as UTF-8 (no HTML escaping), invalid
// UTF-8 as U+FFFD.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c >= 0x20:
				b.WriteByte(c)
			case c == '\b':
				b.WriteString(`\b`)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\f':
				b.WriteString(`\f`)
			case c == '\r':
				b.WriteString(`\r`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
}

// canonicalNumber rewrites the JSON number lit (valid JSON number syntax) in
// ECMAScript's Number-to-String layout, keeping every significant digit: the
// value is digits × 10^(n-len(digits)) with no leading or trailing zero in
// digits, written as an integer when 0 < n <= 21 and there is no fraction, as
// a decimal when -6 < n <= 21, and in exponent form otherwise.
func canonicalNumber(lit string) string {
	neg := strings.HasPrefix(lit, "-")
	lit = strings.TrimPrefix(lit, "-")
	mant, exp, _ := strings.Cut(strings.ToLower(lit), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return "0" // and -0 too, as RFC 8785 has it
	}
	// The value is digits × 10^(exp-len(frac)), so the decimal point falls
	// n = exp-len(frac)+len(digits) places after the first digit. Trailing
	// zeros then go without moving it.
	n := new(big.Int)
	if exp != "" {
		n.SetString(strings.TrimPrefix(exp, "+"), 10) // valid syntax: this succeeds
	}
	n.Add(n, big.NewInt(int64(len(digits)-len(frac))))
	digits = strings.TrimRight(digits, "0")
	k := len(digits)
	var s string
	if n.IsInt64() && n.Int64() > -6 && n.Int64() <= 21 {
		switch p := int(n.Int64()); {
		case p >= k:
			s = digits + strings.Repeat("0", p-k)
		case p > 0:
			s = digits[:p] + "." + digits[p:]
		default:
			s = "0." + strings.Repeat("0", -p) + digits
		}
	} else {
		s = digits[:1]
		if k > 1 {
			s += "." + digits[1:]
		}
		x := n.Sub(n, big.NewInt(1))
		if x.Sign() >= 0 {
			s += "e+" + x.String()
		} else {
			s += "e" + x.String()
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}
