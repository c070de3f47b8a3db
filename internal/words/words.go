// Package words writes what Parley tells people in English: counts of
// things, in the singular for one and the plural otherwise.
package words

import "strconv"

// Count writes n followed by one when n is 1 and by many otherwise: "1
// entry", "3 entries", "0 entries". one and many may go on past the noun,
// as in "thread holds its" and "threads hold their".
func Count[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
}
