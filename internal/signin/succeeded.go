package signin

import "strings"

// Succeeded reports whether the sign-in succeeded, as the Sentinel rule's
// "ResultType == 0" means it: resultType decides when it is present; only
// when it is absent, null or empty does properties.status.errorCode == 0
// decide. A record with neither did not succeed.
//
// resultType succeeds when its value is numerically zero: "0", " 0 ", "00",
// "-0", a JSON number 0 or 0.0. Any other value fails, whether it is
// another number ("50140") or not a number at all ("None", "0x0", "true"),
// because an unknown outcome must not build a baseline.
func (r Record) Succeeded() bool {
	if rt := strings.TrimSpace(r.ResultType); rt != "" {
		return isZero(rt)
	}
	return r.ErrorCode != nil && *r.ErrorCode == 0
}

// isZero reports whether s is a decimal number (JSON number syntax, with an
// optional leading '+' and leading zeros allowed) whose value is zero.
func isZero(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] == '0'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] == '0'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
