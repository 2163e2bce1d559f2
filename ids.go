package drsorch

// The id checks are written out rather than as regular expressions: a
// package-level regexp is compiled at every process start, and the Lambda's
// cold start pays for it.

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// prefixed reports whether s is prefix followed by n..m bytes that satisfy ok.
func prefixed(s, prefix string, n, m int, ok func(byte) bool) bool {
	if len(s) < len(prefix)+n || len(s) > len(prefix)+m || s[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// ValidSourceServerID reports whether s looks like a DRS source server id (s- and 17 characters).
func ValidSourceServerID(s string) bool { return prefixed(s, "s-", 17, 17, isAlnum) }

// ValidJobID reports whether s looks like a DRS job id (drsjob- and 17 characters).
func ValidJobID(s string) bool { return prefixed(s, "drsjob-", 17, 17, isAlnum) }

// ValidSnapshotID reports whether s looks like a DRS recovery snapshot id (pit- and 17 characters).
func ValidSnapshotID(s string) bool { return prefixed(s, "pit-", 17, 17, isAlnum) }

// ValidInstanceID reports whether s looks like an EC2 or recovery instance id.
func ValidInstanceID(s string) bool { return prefixed(s, "i-", 8, 17, isHex) }

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool { return prefixed(s, "", 12, 12, isDigit) }

// ValidRegion reports whether s looks like an AWS region name (us-east-1, ap-southeast-2, us-gov-west-1).
func ValidRegion(s string) bool {
	// two letters, then one or more "-word", then "-digit"
	if len(s) < 6 || !isLower(s[0]) || !isLower(s[1]) || s[2] != '-' || !isDigit(s[len(s)-1]) || s[len(s)-2] != '-' {
		return false
	}
	mid := s[3 : len(s)-2]
	if mid == "" {
		return false
	}
	word := 0
	for i := 0; i < len(mid); i++ {
		switch c := mid[i]; {
		case isLower(c):
			word++
		case c == '-' && word > 0:
			word = 0
		default:
			return false
		}
	}
	return word > 0
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// ValidUUID reports whether s is a UUID (8-4-4-4-12 hexadecimal digits).
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// ValidRecordID reports whether s is usable as a plan, group or execution id:
// a UUID, or a short name of letters, digits, dots, dashes and underscores
// starting with a letter or digit (at most 128 characters).
func ValidRecordID(s string) bool {
	if len(s) == 0 || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
