package detect

import "time"

// PairState is what the baseline remembers about one (user, resource tenant)
// pair: the episode it is in and when it was last seen.
type PairState struct {
	// EpisodeID is the event time of the sighting that opened the episode.
	// It is fixed for the episode's life, even when a late sighting moves
	// EpisodeStart back, so a later episode never reuses an id.
	EpisodeID time.Time
	// EpisodeStart is the earliest event time known in the episode.
	EpisodeStart time.Time
	// LastSeen is the latest event time known in the episode; it never
	// moves backwards.
	LastSeen time.Time
}
