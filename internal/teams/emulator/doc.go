// Package emulator is an in-memory emulator of the Stack Overflow for
// Teams API v3 (users, user groups, tags and tag SMEs), faithful to the
// official OpenAPI document and to the behaviour the real service shows:
// full-replace PUT, 429 throttling with headers, 401 as text/plain, 422
// when SMEs are off, no group deletion. It is an http.Handler served by
// cmd/teams-emulator, embedded in syncd for teams.url "emulator:SEED.json"
// (through Transport, without a socket), and started by tests through
// package teamstest. It imports no testing package, so the binaries that
// link it do not link one.
//
// It deliberately does not import the client package, so that it cannot
// share the client's mistakes: its JSON models are its own, named as in
// the spec.
//
// # Base URLs and tokens
//
// The same operations answer on /v3/teams/{team}/... (Business),
// /api/v3/... (Enterprise main site) and /api/v3/teams/{team}/...
// (Enterprise private team). Users are shared by every form; user groups
// and tags live in the namespace of one team ("" = the main site), as each
// private team is a separate namespace for user groups (REFERENCE.md
// §2.1): a group of another namespace is 404 and cannot be made an SME
// group. A token is valid only on its own team's paths, else 401
// text/plain "Invalid access token", as for a missing or unknown token.
//
// # Permissions (REFERENCE.md §2.2)
//
// Writes need a token issued with write access (else 403 "Forbidden")
// whose user has the role for them (else 403 "Inadequate permissions"):
// an admin for user groups, an admin or a moderator for SMEs. GET
// /users/manage is an admin's, on the Enterprise main site only. A seed
// with "permissive": true lets any write token write, for demos; the real
// API does not.
//
// # Choices where the real API is not documented (REFERENCE.md §9)
//
//   - PUT /user-groups/{id} is a full replacement: an omitted description
//     or userIds clears it.
//   - DELETE …/members/{userId} answers 200 with the group (the spec);
//     Options.DeleteMemberStatus 204 gives the other observed behaviour.
//     Removing a user who is not a member is 404 "User group or user not
//     found": the strict reading, so a client must treat a 404 on a retried
//     delete as done.
//   - Removing an SME who is not one is 204: the spec lists no 404 there.
//   - An empty list has totalPages 1 (Options.EmptyTotalPages -1 gives 0).
//   - A write with a read-only token, or by a user without the role, is
//     403 ProblemDetails; by-email with a non-admin token is 403
//     ProblemDetails.
//   - An unknown user or group id in a create, PUT, member add or SME
//     change is 404 ProblemDetails and nothing changes;
//     Options.UnknownUserStatus 400 answers an unknown user id with 400
//     "User 13 not found" instead (REFERENCE.md §9.5: 400 or 404).
//   - DELETE /user-groups/{id} is 405 with "Allow: GET, PUT" and no body,
//     as ASP.NET Core endpoint routing answers a known path with a method
//     it has no endpoint for (the API cannot delete groups). An unknown
//     path is 404 with no body, which clients tell apart from a JSON "not
//     found".
//   - subjectMatterExpertCount counts distinct people: individual SMEs and
//     members of SME groups, each person once. It is null when SMEs are off.
//   - Duplicate group names are allowed.
//   - ASP.NET conventions: query parameter names, JSON property names,
//     enum values and literal path segments match case-insensitively (a
//     query name given twice: the first counts; a body property given
//     twice: the last, as System.Text.Json binds it); ids
//     are read from numbers or numeric strings; bodies are accepted as
//     application/json, application/json-patch+json, text/json and
//     application/*+json, anything else is 415.
//   - Default list order: users by reputation desc, groups by name asc,
//     tags by name asc; ties broken by id so pages are stable.
//   - Throttling: both limiters are per presented token (even an invalid
//     one), every response carries the five x-burst-throttle-* and
//     x-token-bucket-* headers, a rejected request consumes nothing and
//     gets 429 ProblemDetails with an integer Retry-After (rounded up, so
//     waiting it is always enough).
package emulator
