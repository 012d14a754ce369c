// Package voicetrends is a client for Plum Voice's VoiceTrends Call Volume
// API: two-step authentication, the volume resource, decoding that survives
// the API's PHP backend, typed errors and the rate-limit headers.
//
// The simulator sub-package stands in for the real API in tests and in the
// exporter's demo mode.
package voicetrends
