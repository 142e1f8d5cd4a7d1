// Package properties parses Java .properties files (java.util.Properties.load
// as documented for its line format): the product files of Java servers
// (Liberty's lib/versions/*.properties, GlassFish's and Payara's
// glassfish-version.properties). It is pure and never fails: what it cannot
// read is skipped. Callers bound the input's size.
package properties

import (
	"strconv"
	"strings"
)

// Parse returns the properties of data: "key=value", "key: value" or
// "key value" lines, '#' and '!' comments, a trailing backslash continuing
// the line, and the escapes \t \n \r \f \uXXXX (any other escaped character
// stands for itself). A later key replaces an earlier one, as in Java.
func Parse(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range logicalLines(string(data)) {
		key, value := split(line)
		out[unescape(key)] = unescape(value)
	}
	return out
}

// logicalLines joins continued lines and drops blank and comment lines;
// leading white space of every natural line is dropped.
func logicalLines(s string) []string {
	var lines []string
	var cur strings.Builder
	continuing := false
	for len(s) > 0 {
		var nat string
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			nat = s[:i]
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			s = s[i+1:]
		} else {
			nat, s = s, ""
		}
		nat = strings.TrimLeft(nat, " \t\f")
		if !continuing && (nat == "" || nat[0] == '#' || nat[0] == '!') {
			continue
		}
		// An odd number of trailing backslashes continues the line.
		n := len(nat) - len(strings.TrimRight(nat, `\`))
		continuing = n%2 == 1
		if continuing {
			nat = nat[:len(nat)-1]
		}
		cur.WriteString(nat)
		if !continuing {
			lines = append(lines, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// split cuts a logical line at the first unescaped '=', ':' or white space;
// white space around the separator is not part of key or value.
func split(line string) (key, value string) {
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
	}
	if i > len(line) {
		i = len(line)
	}
	key, rest := line[:i], line[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 < len(s) {
				if r, err := strconv.ParseUint(s[i+1:i+5], 16, 16); err == nil {
					b.WriteRune(rune(r))
					i += 4
					continue
				}
			}
			b.WriteByte('u') // malformed: Java fails; keep the text
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
