// Package baseline keeps Tenantwatch's state in Azure Table Storage: the
// per-user baseline of other tenants, the learning start, and the alert
// outbox.
//
// # Tables and rows
//
// The baseline table (default CrossTenantBaseline) holds one row per pair:
//
//	PartitionKey  EncodeKey(user principal name)
//	RowKey        EncodeKey(resource tenant id)
//	EpisodeID     Edm.DateTime  event time that opened the current episode
//	EpisodeStart  Edm.DateTime  earliest event time known in the episode
//	LastSeen      Edm.DateTime  latest event time known in the episode
//	HomeTenant    string        the user's home tenant, for people reading the table
//
// and one reserved row, in a partition no encoded key can name:
//
//	PartitionKey  "!meta"
//	RowKey        "learningStart"
//	LearningStart Edm.DateTime  earliest event time of any eligible sighting seen
//
// The alerts table (default CrossTenantAlerts) is the outbox, one row per
// (pair, episode):
//
//	PartitionKey  EncodeKey(user)
//	RowKey        EncodeKey(resource tenant) + "!" + episode id as 2006-01-02T15:04:05.0000000Z
//	ID, State ("pending", "sent", "failed"), Attempts, NextAttemptAt,
//	LastError, LastStatus, LeaseUntil, LeaseToken, ClaimToken, CreatedAt,
//	SentAt, Digest, PayloadChunks and Payload0..PayloadN (the envelope to
//	deliver, as Edm.Binary chunks of 60 KiB, under the 64 KiB property limit).
//
// Times are Edm.DateTime strings with exactly seven fractional digits in
// UTC, so they keep the full 100 ns precision of Entra's timestamps and sort
// as text. The zero time.Time is stored as 1601-01-01T00:00:00.0000000Z, the
// smallest value the service accepts, so that every row has every time
// column and filters never meet a missing property.
//
// # Concurrency
//
// Every change is an insert-if-absent (AddEntity, 409 EntityAlreadyExists)
// or an ETag-conditional update (412 UpdateConditionNotSatisfied); both come
// back as ErrConflict and the caller re-reads. UpsertEntity is never used:
// aztables ignores the ETag passed to it. Batches are not used either:
// Azurite ignores If-Match inside them and aztables loses the inner error.
//
// # Errors
//
// Transient reports errors after which the Event Hub batch must be failed
// and retried (storage unreachable, throttled, 5xx, auth, missing table);
// ContentError reports errors caused by one sighting's content, which the
// caller logs and skips. Returned errors never hold the connection string,
// the account key or a SAS token.
package baseline
