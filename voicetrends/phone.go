package voicetrends

import "fmt"

// AllPhones is the phone value that merges every number of the account,
// VoiceTrends' "All Phone Numbers".
const AllPhones = "ALL"

// ValidatePhone accepts AllPhones or digits with an optional leading '+'.
// Anything else is refused so that a phone can never smuggle a path segment
// into a request.
func ValidatePhone(s string) error {
	if s == AllPhones {
		return nil
	}
	digits := s
	if len(digits) > 0 && digits[0] == '+' {
		digits = digits[1:]
	}
	if digits == "" || len(digits) > 20 {
		return fmt.Errorf("invalid phone %q: use ALL or up to 20 digits with an optional leading +", s)
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return fmt.Errorf("invalid phone %q: use ALL or up to 20 digits with an optional leading +", s)
		}
	}
	return nil
}
