package deb

import (
	"bytes"
	"strings"
)

// A reader that needs one or two fields of many stanzas (a mirror's
// filter, a search over a repository's control fields) reads them from
// the bytes, without parsing the rest.

// RawField returns the value of field name (any case) of a raw stanza as
// ParseStanza would: from after the colon and leading blanks to the end
// of its last continuation line, trailing blanks dropped.
func RawField(para []byte, name string) (string, bool) {
	for off := 0; off < len(para); {
		line := para[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		next := off + len(line) + 1
		if len(line) > len(name) && line[len(name)] == ':' && line[0] != ' ' && line[0] != '\t' &&
			strings.EqualFold(string(line[:len(name)]), name) {
			start := off + len(name) + 1
			for start < off+len(line) && (para[start] == ' ' || para[start] == '\t') {
				start++
			}
			end := off + len(line)
			for end+1 < len(para) && (para[end+1] == ' ' || para[end+1] == '\t') { // continuation lines
				if i := bytes.IndexByte(para[end+1:], '\n'); i >= 0 {
					end += 1 + i
				} else {
					end = len(para)
				}
			}
			end = max(end, start)
			return string(bytes.TrimRight(para[start:end], " \t")), true
		}
		off = next
	}
	return "", false
}
