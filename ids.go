package drsorch

import "regexp"

var (
	sourceServerIDRe = regexp.MustCompile(`^s-[0-9a-zA-Z]{17}$`)
	jobIDRe          = regexp.MustCompile(`^drsjob-[0-9a-zA-Z]{17}$`)
	instanceIDRe     = regexp.MustCompile(`^i-[0-9a-fA-F]{8,17}$`)
	accountIDRe      = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe         = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	uuidRe           = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	nameIDRe         = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ValidSourceServerID reports whether s looks like a DRS source server id (s- and 17 characters).
func ValidSourceServerID(s string) bool { return sourceServerIDRe.MatchString(s) }

// ValidJobID reports whether s looks like a DRS job id (drsjob- and 17 characters).
func ValidJobID(s string) bool { return jobIDRe.MatchString(s) }

// ValidInstanceID reports whether s looks like an EC2 or recovery instance id.
func ValidInstanceID(s string) bool { return instanceIDRe.MatchString(s) }

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool { return accountIDRe.MatchString(s) }

// ValidRegion reports whether s looks like an AWS region name.
func ValidRegion(s string) bool { return regionRe.MatchString(s) }

// ValidUUID reports whether s is a UUID.
func ValidUUID(s string) bool { return uuidRe.MatchString(s) }

// ValidRecordID reports whether s is usable as a plan, group or execution id:
// a UUID, or a short name of letters, digits, dots, dashes and underscores.
func ValidRecordID(s string) bool { return nameIDRe.MatchString(s) }
