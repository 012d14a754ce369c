package voicetrends

import (
	"context"
	"fmt"
)

// Authenticate logs in now, as an ordinary login does (at start, or when
// CredentialLifetime ends): it replaces the credentials in use, which stay
// if the login is deferred, within the login counts and backoff of Volume's
// lazy login. For the tests of those limits, which need logins without data
// requests.
func (c *Client) Authenticate(ctx context.Context) error {
	c.logins.mu.Lock()
	stale := c.logins.creds
	c.logins.reloginFor = false
	c.logins.mu.Unlock()
	if _, err := c.credentials(ctx, stale); err != nil {
		return fmt.Errorf("voicetrends: %w", err)
	}
	return nil
}
