// Package alert turns a detected risky first-seen cross-tenant sign-in into
// a message and makes single delivery attempts of it.
//
// The package owns four things:
//
//   - the alert itself: [Data], wrapped in a Standard Webhooks [Envelope],
//     and its stable id, [ID], which every instance and every retry uses as
//     the webhook-id;
//   - the notifiers: [Notifier] posts to a generic webhook (format
//     [FormatJSON], signed per Standard Webhooks) or to a Microsoft Teams
//     Workflows webhook (format [FormatTeams], an Adaptive Card built by
//     [TeamsMessage]); [LogNotifier] logs the alert when no URL is
//     configured;
//   - the retry policy: which outcomes deserve another attempt ([Result])
//     and when it is due ([ParseRetrySchedule], [NextAttempt]);
//   - secret hygiene: webhook URLs ([SecretURL]) and signing secrets never
//     reach a log line or an error string ([Config.Redact]).
//
// A notifier never retries by itself and never sleeps: the caller keeps the
// alert durable (an outbox row), makes the first attempt inline and later
// ones when [NextAttempt] says they are due, so a process that dies between
// attempts loses nothing. Delivery is therefore at least once; receivers
// de-duplicate on the webhook-id.
package alert
